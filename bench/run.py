"""`make bench`: start a production-like stack, load data, measure, print a table, write
bench/results.json, tear everything down. See bench/README.md.

Stack: a fresh PostgreSQL database (BENCH_DB, dropped at the end), Redis db BENCH_REDIS_DB,
gunicorn (BENCH_WORKERS sync workers, Django's psycopg pool) on a free loopback port, and one
Celery worker for the webhook scenario. The HTTP rows are driven by wrk (C, one thread, light
on the CPU the server needs; bench/wrk.lua); this process drives only what wrk cannot express
(the judged hot-contention burst, Ed25519-signed webhooks) with asyncio + aiohttp, and never
imports Django. Only 127.0.0.1 is contacted; every load is bounded in requests and seconds.
"""

import asyncio
import base64
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import admin as admin_pages
from bench import loadgen
from bench.loadgen import Request, judge_reason, judge_status

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LOGS = BENCH / ".logs"
PYTHON = sys.executable
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
# Only the admin row (bench/admin.py), merged into the last results.json.
ADMIN_ONLY = os.environ.get("BENCH_ADMIN_ONLY", "") not in ("", "0")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DB", "kotally_bench_run")
REDIS = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '15')}"
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
LEVELS = (1, 8, 32)
SECONDS = 2 if QUICK else 8  # per measured level (whole seconds: wrk's -d)
MAX_REQUESTS = 20_000  # per measured level, whatever the speed
HISTORY = int(os.environ.get("BENCH_HISTORY") or (100_000 if QUICK else 1_000_000))
SCALE_ROUNDS = 3  # consecutive empty/history comparisons (issue 14: three in a row)
# The c=8 rows the targets judge run this many times, interleaved; each pass gives its own
# ratios and the target takes their median, so one slow minute of a shared machine (a
# neighbour's load, a checkpoint) cannot decide it alone.
JUDGED_PASSES = 1 if QUICK else 3
HOT_DEDUCTS = 200
DRAIN_TIMEOUT = 30 if QUICK else 120  # seconds for the Celery worker to process the events
WEBHOOK_EVENTS = 100 if QUICK else 400

# --- the stack ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(queue: str, public_pem: str, db: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": f"{PG}/{db}",
            "DATABASE_POOL": "true",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "REDIS_URL": REDIS,
            "SECURE_COOKIES": "False",
            "SECURE_SSL_REDIRECT": "False",
            "LOG_LEVEL": "WARNING",
            # The limiter still runs on every request (its Redis round trip is part of the cost
            # measured); only its ceiling is lifted so one client can drive the whole load.
            "API_RATE_LIMIT_PER_SECOND": "1000000",
            "API_RATE_LIMIT_BURST": "1000000",
            "GHL_WEBHOOK_ED25519_PUBLIC_KEY": public_pem,
            "BENCH_QUEUE": queue,
        }
    )
    return env


def admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run_json(env: dict, *args: str, timeout: float = 300) -> dict:
    done = subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Stack:
    """gunicorn (and, when started, a Celery worker) over one bench database."""

    def __init__(self, db: str = DB, log: str = "access.log"):
        self.db = db
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.key = Ed25519PrivateKey.generate()
        pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.env = stack_env(self.queue, pem, db)
        self.procs: dict[str, subprocess.Popen] = {}
        LOGS.mkdir(exist_ok=True)
        self.access_log = LOGS / log

    def start(self, name: str, args: list[str]) -> None:
        log = open(LOGS / f"{name}-{self.db}.log", "w")
        # A process group of its own, so stopping it reaches gunicorn's or Celery's children.
        self.procs[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def start_gunicorn(self) -> None:
        self.start(
            "gunicorn",
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "kotally.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--backlog",
                "2048",
                "--timeout",
                "60",
                "--max-requests",
                "0",
                "--log-level",
                "warning",
                # Path and time spent in the worker (µs), to split latency into server time and
                # waiting in the backlog.
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(U)s %(D)s",
            ],
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.procs["gunicorn"].poll() is not None:
                raise SystemExit(f"gunicorn exited; see {LOGS / f'gunicorn-{self.db}.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("gunicorn did not start within 60 s")

    def start_celery(self) -> None:
        self.start(
            "celery",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "kotally",
                "worker",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "-Q",
                self.queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
            ],
        )

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


# --- scenarios ----------------------------------------------------------------------------------


class Scenarios:
    def __init__(self, stack: Stack, seed: dict):
        self.stack = stack
        self.seed = seed
        self.results: list[dict] = []
        self.run = uuid.uuid4().hex[:6]

    async def http(
        self,
        name,
        make,
        judge,
        *,
        levels=LEVELS,
        seconds=SECONDS,
        max_requests=MAX_REQUESTS,
        token=None,
        group=None,
    ) -> list[dict]:
        """A row driven by this process (only where wrk cannot express the scenario)."""
        out = []
        for c in levels:
            result = await loadgen.http_load(
                self.stack.base,
                name,
                make,
                judge,
                concurrency=c,
                seconds=seconds,
                max_requests=max_requests,
                token=self.seed["token"] if token is None else token,
            )
            result["group"] = group or name
            out.append(result)
            self.results.append(result)
            print(
                f"  {name:<28} c={c:<3} {result['throughput_rps']:>8} rps  "
                f"p99 {result['p99_ms']} ms  errors {result['errors']}",
                flush=True,
            )
        return out

    def wrk(
        self,
        name,
        path,
        *,
        method="GET",
        body=None,
        expect="",
        contacts=None,
        levels=LEVELS,
        token=None,
        group=None,
        seconds=SECONDS,
        keep=True,
    ) -> list[dict]:
        """A row driven by wrk: one thread, `c` connections, closed loop for `seconds`
        (`keep=False`: a warm-up, not a row of the results).
        `{contact}` and `{n}` in the path or body become a contact (never one another
        connection has in flight) and a number unique in this run."""
        out = []
        for c in levels:
            env = {
                **os.environ,
                "WRK_METHOD": method,
                "WRK_PATH": path,
                "WRK_BODY": json.dumps(body) if body else "",
                "WRK_EXPECT": expect,
                "WRK_TOKEN": self.seed["token"] if token is None else token,
                "WRK_CONTACTS": ",".join(contacts or self.seed["contacts"]),
                "WRK_THREADS": "1",
                "WRK_RUN": uuid.uuid4().hex[:10],
            }
            mark = self.stack.access_log.stat().st_size
            done = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{c}",
                    f"-d{seconds}s",
                    "--timeout",
                    "30s",
                    "-s",
                    str(BENCH / "wrk.lua"),
                    self.stack.base,
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )
            if done.returncode != 0:
                raise SystemExit(f"wrk failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
            raw = json.loads(done.stdout.strip().splitlines()[-1])
            elapsed = raw["duration_us"] / 1e6
            errors = raw["bad"] + raw["socket_errors"]
            result = {
                "name": name,
                "group": group or name,
                "concurrency": c,
                "driver": "wrk",
                "requests": raw["requests"],
                "seconds": round(elapsed, 3),
                "throughput_rps": round(raw["requests"] / elapsed, 1),
                **{f"p{p}_ms": round(raw[f"p{p}_us"] / 1000, 2) for p in (50, 95, 99)},
                "ok": raw["requests"] - raw["bad"],
                "expected_refusals": 0,
                "errors": errors,
                "error_samples": [raw["sample"]] if raw["sample"] else [],
                **self.server_time(mark, path.split("?")[0].split("{")[0]),
            }
            out.append(result)
            if keep:
                self.results.append(result)
            print(
                f"  {name:<28} c={c:<3} {result['throughput_rps']:>8} rps  "
                f"p50 {result['p50_ms']} p99 {result['p99_ms']} ms (in server: "
                f"p99 {result['server_p99_ms']} ms)  errors {errors}",
                flush=True,
            )
        return out

    def server_time(self, mark: int, prefix: str) -> dict:
        """Percentiles of the time gunicorn's workers spent on this row's requests (the access
        log since `mark`); the rest of the client latency is waiting in the backlog."""
        with open(self.stack.access_log, "rb") as log:
            log.seek(mark)
            times = sorted(
                int(line.split()[1]) / 1000
                for line in log.read().splitlines()
                if line.startswith(prefix.encode()) and len(line.split()) == 2
            )
        if not times:
            return {"server_p50_ms": None, "server_p99_ms": None, "server_mean_ms": None}
        return {
            "server_p50_ms": round(times[len(times) // 2], 2),
            "server_p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 2),
            "server_mean_ms": round(statistics.fmean(times), 2),
        }

    def body(self, **extra):
        return {
            "location_id": self.seed["location_id"],
            "external_contact_id": "{contact}",
            "calendar_id": self.seed["calendar_id"],
            **extra,
        }

    async def warm(self):
        """Every worker's first request to an endpoint pays its lazy set-up (≈ 70 ms for the
        first deduct in a process), and a statement is prepared on a connection after five
        runs: a second of each row before measuring, so the rows show the steady state."""
        await loadgen.http_load(
            self.stack.base,
            "warm-up",
            lambda w, i: Request("GET", "/bench/floor"),
            judge_status(200),
            concurrency=8,
            seconds=2,
            max_requests=2000,
            token=self.seed["token"],
        )
        warm = {"levels": (8,), "seconds": 1, "keep": False}
        self.wrk(
            "warm-up",
            "/bench/deduct-min",
            method="POST",
            body=self.body(request_id="wm-{n}"),
            **warm,
        )
        self.deduct("wd", **warm)
        self.grant("wg", **warm)

    async def rows(self):
        """Per concurrency level, the floors and the endpoints back to back: the ratios then
        compare figures taken within two minutes of each other, while the background load of
        a shared machine moves. At c=8, JUDGED_PASSES times."""
        for c in LEVELS:
            for n in range(JUDGED_PASSES if c == 8 else 1):
                start = len(self.results)
                await self.pass_at(c)
                for r in self.results[start:]:
                    r["pass"] = n

    async def pass_at(self, c):
        """The floors, then the endpoints, at concurrency `c`."""
        self.wrk("bare floor", "/bench/bare", token="", levels=(c,))
        self.wrk("auth floor", "/bench/floor", levels=(c,))
        self.wrk(
            "minimal deduct",
            "/bench/deduct-min",
            method="POST",
            levels=(c,),
            body=self.body(request_id="m-{n}"),
            expect='"deducted"',
        )
        await self.db_floor(c)
        self.endpoints(c)

    async def db_floor(self, c):
        """The deduct's SQL sent straight through psycopg: what PostgreSQL alone sustains."""
        result = await loadgen.db_floor(
            f"{PG}/{DB}",
            location_pk=self.seed["location_pk"],
            client_id=self.seed["client_id"],
            contacts=self.seed["contacts"],
            concurrency=c,
            seconds=SECONDS,
            max_requests=MAX_REQUESTS,
        )
        result["group"] = "db floor"
        self.results.append(result)
        print(
            f"  {'db floor (deduct SQL)':<28} c={c:<3} {result['throughput_rps']:>8} rps"
            f"  p99 {result['p99_ms']} ms  errors {result['errors']}",
            flush=True,
        )

    def deduct(self, tag, levels=LEVELS, group=None, **run):
        return self.wrk(
            "deduct",
            "/api/v2/entitlements/deduct",
            method="POST",
            levels=levels,
            body=self.body(request_id=f"{tag}-{{n}}"),
            expect='"deducted"',
            group=group,
            **run,
        )

    def grant(self, tag, levels=LEVELS, **run):
        """Grants to 1,000 separate contacts, a new payment each time."""
        return self.wrk(
            "grant",
            "/api/v2/grants",
            method="POST",
            expect='"grant_applied"',
            levels=levels,
            contacts=[f"grant-{i:04d}" for i in range(1000)],
            body={
                "location_id": self.seed["location_id"],
                "external_contact_id": "{contact}",
                "product_config_id": self.seed["product_config_id"],
                "external_payment_id": f"pay-{tag}-{{n}}",
                "request_id": f"{tag}-{{n}}",
                "amount_cents": 9900,
                "currency": "USD",
            },
            **run,
        )

    def summary(self, levels=LEVELS, group=None):
        return self.wrk(
            "summary",
            f"/api/v2/contacts/{{contact}}/summary?location_id={self.seed['location_id']}",
            expect='"summary_loaded"',
            levels=levels,
            group=group,
        )

    def endpoints(self, c):
        self.wrk(
            "check-eligibility",
            "/api/v2/entitlements/check-eligibility",
            method="POST",
            body=self.body(),
            expect='"eligible"',
            levels=(c,),
        )
        self.deduct("d", levels=(c,))
        self.grant("g", levels=(c,))
        self.summary(levels=(c,))

    async def contention(self) -> dict:
        seed = self.seed
        result = await loadgen.http_load(
            self.stack.base,
            "hot contention",
            lambda w, i: Request(
                "POST",
                "/api/v2/entitlements/deduct",
                {
                    "location_id": seed["location_id"],
                    "external_contact_id": seed["hot_contact"],
                    "calendar_id": seed["hot_calendar_id"],
                    "request_id": f"hot-{self.run}-{w}",
                },
            ),
            judge_reason("deducted", ("INSUFFICIENT_CREDITS",)),
            concurrency=HOT_DEDUCTS,
            seconds=120,
            max_requests=HOT_DEDUCTS,
            token=seed["token"],
        )
        with psycopg.connect(f"{PG}/{DB}") as conn:
            remaining, deducts = conn.execute(
                """SELECT e.credits_remaining, (SELECT count(*) FROM entitlements_ledgerentry l
                                                WHERE l.entitlement_id = e.id AND kind = 'deduct')
                   FROM entitlements_entitlement e JOIN entitlements_contact c
                     ON c.id = e.contact_id WHERE c.external_id = %s""",
                [seed["hot_contact"]],
            ).fetchone()
        result.update(
            group="hot contention",
            lot_remaining_after=remaining,
            ledger_deducts=deducts,
            passed=result["ok"] == seed["hot_credits"]
            and remaining == 0
            and deducts == seed["hot_credits"]
            and result["errors"] == 0,
        )
        self.results.append(result)
        print(
            f"  hot contention: {result['ok']} deducted, {result['expected_refusals']} "
            f"refused, lot remaining {remaining}, errors {result['errors']} → "
            f"{'PASS' if result['passed'] else 'FAIL'}",
            flush=True,
        )
        return result

    def signed_event(self, w, i) -> Request:
        start = datetime.now(UTC) + timedelta(days=2, minutes=i)
        contacts = self.seed["ghl_contacts"]
        payload = {
            "type": "AppointmentCreate",
            "locationId": self.seed["ghl_location_id"],
            "webhookId": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "appointment": {
                "id": f"apt-{self.run}-{w}-{i}",
                "calendarId": self.seed["ghl_calendar_id"],
                "contactId": contacts[(i * 8 + w) % len(contacts)],
                "appointmentStatus": "confirmed",
                "title": "Bench class",
                "startTime": start.isoformat(),
                "endTime": (start + timedelta(hours=1)).isoformat(),
            },
        }
        raw = json.dumps(payload).encode()
        signature = base64.b64encode(self.stack.key.sign(raw)).decode()
        return Request(
            "POST",
            "/webhooks/ghl",
            data=raw,
            headers={"Content-Type": "application/json", "X-GHL-Signature": signature},
        )

    async def webhook_available(self) -> bool:
        """The intake is being built in parallel: a 404 means it is not there yet."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.stack.base}/webhooks/ghl",
                data=b"{}",
                headers={"Content-Type": "application/json"},
            ) as resp,
        ):
            return resp.status != 404

    async def webhooks(self) -> dict:
        if not await self.webhook_available():
            skipped = {"group": "webhook", "skipped": "skipped: /webhooks/ghl not available"}
            self.results.append(skipped)
            print(f"  {skipped['skipped']}", flush=True)
            return skipped
        # Intake alone first (no worker yet: events wait in the queue), then one worker drains.
        intake = (
            await self.http(
                "webhook intake",
                self.signed_event,
                judge_status(200),
                levels=(8,),
                max_requests=WEBHOOK_EVENTS,
                seconds=60,
                token="",
            )
        )[0]
        if not intake["ok"]:
            return intake  # nothing was accepted, so nothing to process
        self.stack.start_celery()
        drained = drain(intake["ok"])
        self.stack.stop("celery")  # idle from here on; the scale runs get the CPU back
        drained["group"] = "webhook e2e"
        self.results.append(drained)
        print(f"  webhook e2e (1 worker): {drained}", flush=True)
        return drained


def drain(expected: int) -> dict:
    """Poll the events table until the worker has processed `expected` GHL events (bounded)."""
    pending_sql = (
        "SELECT count(*) FILTER (WHERE status IN ('received', 'processing')), "
        "count(*) FROM inbox_inboundevent WHERE provider = 'ghl'"
    )
    first = last = None
    deadline = time.time() + DRAIN_TIMEOUT
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        while time.time() < deadline:
            pending, total = conn.execute(pending_sql).fetchone()
            now = time.perf_counter()
            if first is None and pending < total:
                first = now
            if total and pending == 0:
                last = now
                break
            time.sleep(0.1)
        statuses = dict(
            conn.execute(
                "SELECT status || ':' || reason_code, count(*) FROM inbox_inboundevent "
                "WHERE provider = 'ghl' GROUP BY 1"
            ).fetchall()
        )
    done = expected - (pending if last is None else 0)
    seconds = (last or time.perf_counter()) - (first or time.perf_counter())
    return {
        "name": "webhook e2e (1 worker)",
        "events": expected,
        "processed": done,
        "seconds": round(seconds, 2),
        "events_per_second": round(done / seconds, 1) if seconds > 0 else None,
        "statuses": statuses,
        "timed_out": last is None,
    }


# --- report -------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")
    )
    with psycopg.connect(f"{PG}/postgres") as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "postgresql": pg,
        "os": platform.platform(terse=True),
        "gunicorn_workers": WORKERS,
    }


FLOORS = {"bare floor": "vs_bare", "auth floor": "vs_auth", "minimal deduct": "vs_minimal"}


def ratios(results: list[dict]) -> None:
    """Each row's throughput as a fraction of the three floors at the same concurrency (only
    rows of the same run are ever compared)."""
    floors = {
        (r["group"], r["concurrency"], r.get("pass", 0)): r["throughput_rps"]
        for r in results
        if r.get("group") in FLOORS
    }
    for r in results:
        if r.get("driver") != "wrk" or r["group"] == "bare floor":
            continue
        for floor, key in FLOORS.items():
            base = floors.get((floor, r["concurrency"], r.get("pass", 0)))
            if base and floor != r["group"]:
                r[key] = round(r["throughput_rps"] / base, 3)


def _judged(results, group, value) -> list:
    """`value(row, pass's rows)` for the c=8 row of `group` in each judged pass, in order."""
    rows = [r for r in results if r.get("concurrency") == 8 and "pass" in r]
    return [
        value(r, [x for x in rows if x["pass"] == r["pass"]])
        for r in rows
        if r.get("group") == group
    ]


def _median_target(values: list, met) -> dict:
    value = statistics.median(values)
    return {"value": value, "passes": values, "met": met(value)}


def targets(results: list[dict], scale: dict) -> dict:
    """The targets of issue 14, all from rows of this run: the median of the judged passes."""
    hot = next(r for r in results if r.get("group") == "hot contention")
    unexpected = sum(r.get("errors", 0) for r in results)

    def vs(key):
        return lambda row, _: row[key]

    def p99_vs_bare(row, same_pass):
        bare = next(x for x in same_pass if x["group"] == "bare floor")
        return round(row["p99_ms"] / bare["p99_ms"], 2)

    return {
        "deduct_at_least_half_the_minimal_deduct_at_c8": _median_target(
            _judged(results, "deduct", vs("vs_minimal")), lambda v: v >= 0.5
        ),
        "grant_at_least_0.4_of_the_minimal_deduct_at_c8": _median_target(
            _judged(results, "grant", vs("vs_minimal")), lambda v: v >= 0.4
        ),
        "auth_floor_at_least_0.6_of_the_bare_floor_at_c8": _median_target(
            _judged(results, "auth floor", vs("vs_bare")), lambda v: v >= 0.6
        ),
        "deduct_p99_at_most_4x_the_bare_floor_p99_at_c8": _median_target(
            _judged(results, "deduct", p99_vs_bare), lambda v: v <= 4
        ),
        "history_at_least_0.95_of_empty_in_every_round": {
            k: {
                "ratios": [r[k] for r in scale["rounds"]],
                "met": all(r[k] >= 0.95 for r in scale["rounds"]),
            }
            for k in ("deduct", "summary")
        },
        "hot_contention_exactly_100_deducted": {"met": hot["passed"]},
        "zero_unexpected_errors": {"value": unexpected, "met": unexpected == 0},
    }


def table(report: dict) -> str:
    lines = [
        f"Kotally benchmark — {report['started_at']} — {'QUICK' if QUICK else 'full'} run",
        "machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
        f"load average at start: {report['load_average']}, at the end: "
        f"{report.get('load_average_end')}",
        "",
        f"{'scenario':<30}{'c':>4}{'req':>7}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'srv p99':>9}{'err':>5}{'refused':>8}{'/bare':>7}{'/auth':>7}"
        f"{'/min':>7}",
    ]
    for r in report["results"]:
        if "skipped" in r:
            lines.append(f"{r['group']:<30}{r['skipped']}")
            continue
        if r.get("group") == "webhook e2e":
            lines.append(
                f"{r['name']:<30}{'':>4}{r['processed']:>7}"
                f"{str(r['events_per_second']):>9} events/s  "
                f"{'TIMED OUT ' if r['timed_out'] else ''}{r['statuses']}"
            )
            continue
        label = f"{r['name']} [{r['group']}]" if r["group"].startswith("scale") else r["name"]
        if r.get("concurrency") == 8 and "pass" in r and JUDGED_PASSES > 1:
            label = f"{label} #{r['pass'] + 1}"
        lines.append(
            f"{label:<30}{r['concurrency']:>4}{r['requests']:>7}{r['throughput_rps']:>9}"
            f"{r['p50_ms']!s:>9}{r['p95_ms']!s:>9}{r['p99_ms']!s:>9}"
            f"{r.get('server_p99_ms', '')!s:>9}{r['errors']:>5}{r['expected_refusals']:>8}"
            + "".join(f"{r.get(key, '')!s:>7}" for key in FLOORS.values())
        )
    lines += [
        "",
        f"scale (throughput with {report['scale']['ledger_entries']:,} ledger entries ÷ almost "
        "empty, c=8, rounds back to back): "
        + "; ".join(", ".join(f"{k} {v}" for k, v in r.items()) for r in report["scale"]["rounds"]),
        f"deduct path: {report['profile']['deduct_sql_statements']} SQL statements "
        f"({report['profile']['deduct_sql_in_transaction']} inside the transaction), "
        f"{report['profile']['deduct_in_process_ms']} ms in-process — see "
        "bench/profile.txt",
        "",
        "targets:",
    ]
    if "admin" in report:
        lines[-2:-2] = ["", *admin_pages.table(report["admin"])]
    for name, target in report["targets"].items():
        lines.append(f"  {name}: {json.dumps(target)}")
    return "\n".join(line.rstrip() for line in lines)


async def measure(stack: Stack, seed: dict, report: dict) -> None:
    if not ADMIN_ONLY:
        await measure_api(stack, seed, report)
    report["admin"] = await admin_pages.measure(stack, run_json)
    report["admin"]["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report.setdefault("targets", {}).update(admin_pages.targets(report["admin"]))


async def measure_api(stack: Stack, seed: dict, report: dict) -> None:
    s = Scenarios(stack, seed)
    await s.warm()
    print("floors and endpoints", flush=True)
    await s.rows()
    print("hot contention", flush=True)
    await s.contention()
    print("webhooks", flush=True)
    await s.webhooks()
    report["scale"] = await scale(s, report)
    ratios(s.results)
    report["results"] = s.results
    report["targets"] = targets(s.results, report["scale"])


async def scale(s: "Scenarios", report: dict) -> dict:
    """Does a deduct or a summary slow down as the ledger grows? A second stack over a second
    database gets the same seed plus HISTORY ledger entries; then deduct and summary run at
    c=8 on the almost empty database and on the full one, back to back, SCALE_ROUNDS times,
    and each round gives a ratio (full ÷ empty throughput)."""
    full = Stack(db=f"{DB}_history", log="access-history.log")
    try:
        print(f"scale: a second database, {full.db}, with {HISTORY:,} ledger entries", flush=True)
        seed = prepare(full)
        started = time.perf_counter()
        report["history"] = run_json(
            full.env, "-m", "bench.data", "history", str(HISTORY), timeout=7200
        )
        report["history"]["load_seconds"] = round(time.perf_counter() - started, 1)
        report["history"]["inconsistent_lots"] = run_json(
            full.env, "-m", "bench.data", "check", timeout=3600
        )["inconsistent_lots"]
        print(f"  {report['history']}", flush=True)
        full.start_gunicorn()
        f = Scenarios(full, seed)
        await f.warm()
        rounds = []
        for r in range(SCALE_ROUNDS):
            rows = {
                "deduct": (
                    s.deduct(f"se{r}", levels=(8,), group="scale empty")[0],
                    f.deduct(f"sf{r}", levels=(8,), group="scale history")[0],
                ),
                "summary": (
                    s.summary(levels=(8,), group="scale empty")[0],
                    f.summary(levels=(8,), group="scale history")[0],
                ),
            }
            rounds.append(
                {
                    k: round(full_row["throughput_rps"] / empty_row["throughput_rps"], 3)
                    for k, (empty_row, full_row) in rows.items()
                }
            )
            print(f"  round {r + 1}: {rounds[-1]}", flush=True)
        s.results.extend(f.results)
        return {"rounds": rounds, "ledger_entries": report["history"]["ledger_entries"]}
    finally:
        full.close()
        if not os.environ.get("BENCH_KEEP"):
            admin(f'DROP DATABASE IF EXISTS "{full.db}" WITH (FORCE)')


def prepare(stack: Stack) -> dict:
    """A fresh, migrated database for `stack` with the bench's seed; returns the seed."""
    admin(f'DROP DATABASE IF EXISTS "{stack.db}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{stack.db}"')
    # As a deploy does; the admin pages' templates need the static files manifest.
    for command in ("migrate", "collectstatic"):
        subprocess.run(
            [PYTHON, "manage.py", command, "--noinput", "-v", "0"],
            cwd=ROOT,
            env=stack.env,
            check=True,
            timeout=300,
        )
    seed = run_json(stack.env, "-m", "bench.data", "seed")
    with psycopg.connect(f"{PG}/{stack.db}") as conn:
        seed["location_pk"] = conn.execute(
            "SELECT id FROM locations_location WHERE location_id = %s", [seed["location_id"]]
        ).fetchone()[0]
        seed["client_id"] = str(
            conn.execute("SELECT client_id FROM api_apiclient WHERE name = 'bench'").fetchone()[0]
        )
    return seed


def ensure_wrk() -> None:
    """wrk is the HTTP load generator (Debian package `wrk`); install it when missing."""
    if shutil.which("wrk"):
        return
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, timeout=600)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")


def main() -> int:
    ensure_wrk()
    report = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "seconds_per_level": SECONDS,
        "machine": machine(),
        "load_average": os.getloadavg(),
        "note": "2-core machine: the load average at start and end says how quiet it was",
    }
    stack = Stack()
    print(
        f"bench: database {DB}, redis {REDIS}, gunicorn {WORKERS} workers on {stack.base}",
        flush=True,
    )
    try:
        seed = prepare(stack)
        seed_path = LOGS / "seed.json"
        seed_path.write_text(json.dumps(seed))
        if not ADMIN_ONLY:
            print("profiling the deduct path", flush=True)
            report["profile"] = run_json(
                stack.env, "-m", "bench.profiling", str(seed_path), str(BENCH / "profile.txt")
            )
            print(f"  {report['profile']}", flush=True)
        stack.start_gunicorn()
        asyncio.run(measure(stack, seed, report))
    finally:
        stack.close()
        if not os.environ.get("BENCH_KEEP"):
            admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["load_average_end"] = os.getloadavg()
    if ADMIN_ONLY:
        last = json.loads((BENCH / "results.json").read_text())
        last["admin"] = report["admin"]
        last["targets"].update(report["targets"])
        report = last
    (BENCH / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    text = table(report)
    (BENCH / "results.txt").write_text(text + "\n")
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
