"""The admin row of `make bench` (issue 16): the server-rendered admin at agency scale.

Two agency workspaces are loaded one after the other (`python -m bench.data admin`): 10,000
members first, then the large one (BENCH_ADMIN_CONTACTS, 1,000,000 by default, 100,000 in a
quick run), each member with ten ledger entries. After each load, a signed-in owner GETs every
page of `bench.data.admin_load` one request at a time (two warm-up requests, then up to
REQUESTS), so the latency is the server's time plus a loopback round trip. Then the contacts
CSV of the whole workspace is downloaded once while the gunicorn workers' peak memory is read
from /proc before and after.
"""

import os
import time
from pathlib import Path

import aiohttp

from bench import loadgen
from bench.loadgen import Request, judge_status

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SMALL = 10_000
LARGE = int(os.environ.get("BENCH_ADMIN_CONTACTS", 100_000 if QUICK else 1_000_000))
ENTRIES_PER_CONTACT = 10
REQUESTS = 20 if QUICK else 40
WARM_UP = 2
P50_MS, P95_MS = 100, 250  # issue 16's targets, per page at the large size


def _label(contacts: int) -> str:
    return f"{contacts // 1_000_000}M" if contacts % 1_000_000 == 0 else f"{contacts // 1000}k"


def _peak_worker_kb(master_pid: int) -> int:
    """The largest peak resident set (VmHWM) among gunicorn's workers."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks)


async def _export(base: str, path: str, cookie: str) -> dict:
    timeout = aiohttp.ClientTimeout(total=3600)
    started = time.perf_counter()
    size = rows = 0
    async with aiohttp.ClientSession(base, timeout=timeout) as session:
        async with session.get(path, headers={"Cookie": cookie}, allow_redirects=False) as resp:
            status = resp.status
            async for chunk in resp.content.iter_chunked(1 << 16):
                size += len(chunk)
                rows += chunk.count(b"\n")
    return {
        "status": status,
        "seconds": round(time.perf_counter() - started, 1),
        "bytes": size,
        "rows": rows - 1,
    }


async def _size(stack, run_json, contacts: int) -> dict:
    label = _label(contacts)
    print(
        f"admin: loading {contacts:,} contacts, {contacts * ENTRIES_PER_CONTACT:,} entries",
        flush=True,
    )
    started = time.perf_counter()
    loaded = run_json(
        stack.env,
        "-m",
        "bench.data",
        "admin",
        f"agency{label}",
        str(contacts),
        str(contacts * ENTRIES_PER_CONTACT),
        timeout=4 * 3600,
    )
    result = {
        "contacts": contacts,
        "ledger_entries": loaded["ledger_entries"],
        "load_seconds": round(time.perf_counter() - started, 1),
        "pages": {},
    }
    cookie = loaded["cookie"]
    for name, path in loaded["pages"].items():

        def make(w, i, path=path):
            return Request("GET", path, headers={"Cookie": cookie})

        await loadgen.http_load(
            stack.base,
            name,
            make,
            judge_status(200),
            concurrency=1,
            seconds=60,
            max_requests=WARM_UP,
        )
        page = await loadgen.http_load(
            stack.base,
            name,
            make,
            judge_status(200),
            concurrency=1,
            seconds=60,
            max_requests=REQUESTS,
        )
        result["pages"][name] = {
            k: page[k]
            for k in ("requests", "p50_ms", "p95_ms", "p99_ms", "errors", "error_samples")
        }
        print(
            f"  {label} {name:<26} p50 {page['p50_ms']} ms  p95 {page['p95_ms']} ms  "
            f"errors {page['errors']}",
            flush=True,
        )
    master = stack.procs["gunicorn"].pid
    before = _peak_worker_kb(master)
    result["export"] = await _export(stack.base, loaded["export"], cookie)
    result["export"]["worker_peak_rss_mb_before"] = round(before / 1024, 1)
    result["export"]["worker_peak_rss_mb_after"] = round(_peak_worker_kb(master) / 1024, 1)
    print(f"  {label} export {result['export']}", flush=True)
    return result


async def measure(stack, run_json) -> dict:
    small = await _size(stack, run_json, SMALL)
    large = await _size(stack, run_json, LARGE)
    return {
        "small": small,
        "large": large,
        "requests_per_page": REQUESTS,
        "warm_up_requests": WARM_UP,
    }


def targets(admin: dict) -> dict:
    pages = admin["large"]["pages"]
    slow = {
        name: (p["p50_ms"], p["p95_ms"])
        for name, p in pages.items()
        if p["errors"] or p["p50_ms"] > P50_MS or p["p95_ms"] > P95_MS
    }
    return {
        f"admin_p50_under_{P50_MS}ms_p95_under_{P95_MS}ms_at_{_label(LARGE)}": {
            "met": not slow,
            "contacts": admin["large"]["contacts"],
            "missed": slow,
        }
    }


def table(admin: dict) -> list[str]:
    small, large = admin["small"], admin["large"]
    s, b = _label(small["contacts"]), _label(large["contacts"])
    lines = [
        f"admin pages, measured {admin['measured_at']} (signed in, c=1, "
        f"{admin['requests_per_page']} requests each after "
        f"{admin['warm_up_requests']} warm-up): {s} = {small['contacts']:,} contacts / "
        f"{small['ledger_entries']:,} entries, {b} = {large['contacts']:,} / "
        f"{large['ledger_entries']:,} (loaded in {large['load_seconds']} s)",
        f"{'page':<30}{s + ' p50':>10}{s + ' p95':>10}{b + ' p50':>10}{b + ' p95':>10}"
        f"{'p50 ' + b + '/' + s:>12}{'err':>5}",
    ]
    for name, big in large["pages"].items():
        few = small["pages"][name]
        ratio = round(big["p50_ms"] / few["p50_ms"], 2) if few["p50_ms"] else ""
        lines.append(
            f"{name:<30}{few['p50_ms']!s:>10}{few['p95_ms']!s:>10}"
            f"{big['p50_ms']!s:>10}{big['p95_ms']!s:>10}{ratio!s:>12}"
            f"{few['errors'] + big['errors']:>5}"
        )
    for label, size in ((s, small), (b, large)):
        e = size["export"]
        lines.append(
            f"contacts CSV {label}: {e['rows']:,} rows, {e['bytes']:,} bytes in "
            f"{e['seconds']} s; gunicorn worker peak RSS {e['worker_peak_rss_mb_before']}"
            f" MB before, {e['worker_peak_rss_mb_after']} MB after"
        )
    return lines
