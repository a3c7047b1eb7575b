"""Profile the deduct path in-process against the bench database (run by bench/run.py).

    python -m bench.profiling <seed.json> <out.txt>

Prints JSON (query count and time per query of one deduct) and writes the SQL of one deduct
plus a cProfile of `--calls` deducts to <out.txt>, for the findings in bench/README.md.
"""

import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

CALLS = 200


def _deduct(client, seed, i):
    body = {
        "location_id": seed["location_id"],
        "external_contact_id": seed["contacts"][i % 50],
        "calendar_id": seed["calendar_id"],
        "request_id": f"prof-{uuid.uuid4()}",
    }
    response = client.post(
        "/api/v2/entitlements/deduct",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST="127.0.0.1",
        HTTP_AUTHORIZATION=f"Bearer {seed['token']}",
    )
    assert response.json()["reason_code"] == "deducted", response.content


class _Timer:
    """connection.execute_wrapper that keeps (sql, ms, in transaction) for every statement."""

    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(
                {
                    "ms": round((time.perf_counter() - start) * 1000, 3),
                    "in_atomic": connection.in_atomic_block,
                    "sql": sql[:300],
                }
            )


def main(seed_path, out_path):
    seed = json.load(open(seed_path))
    client = Client()
    for i in range(20):  # warm: imports, connection, prepared plans
        _deduct(client, seed, i)
    timers = []
    for i in range(20):
        timer = _Timer()
        with connection.execute_wrapper(timer):
            start = time.perf_counter()
            _deduct(client, seed, i)
            timer.total_ms = (time.perf_counter() - start) * 1000
        timers.append(timer)
    median = sorted(timers, key=lambda t: t.total_ms)[len(timers) // 2]
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for i in range(CALLS):
        _deduct(client, seed, i)
    profiler.disable()
    per_call_ms = (time.perf_counter() - start) * 1000 / CALLS
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats(30)
    text.write("\nThe project's own functions and the Redis/psycopg calls they make:\n")
    stats.print_stats(r"/(api|entitlements|kotally)/|redis/client|psycopg/(cursor|connection)", 40)
    sql_ms = sum(q["ms"] for q in median.queries)
    with open(out_path, "w") as out:
        out.write(
            f"One deduct (median of 20, in-process, no HTTP): {median.total_ms:.2f} ms, "
            f"{len(median.queries)} SQL statements, {sql_ms:.2f} ms in SQL\n\n"
        )
        for n, q in enumerate(median.queries, 1):
            out.write(f"{n:2d}. {q['ms']:7.3f} ms {'tx ' if q['in_atomic'] else '   '}{q['sql']}\n")
        out.write(
            f"\ncProfile of {CALLS} deducts ({per_call_ms:.2f} ms each under the "
            f"profiler):\n{text.getvalue()}"
        )
    json.dump(
        {
            "deduct_sql_statements": len(median.queries),
            "deduct_sql_in_transaction": sum(q["in_atomic"] for q in median.queries),
            "deduct_in_process_ms": round(median.total_ms, 2),
            "deduct_sql_ms": round(sql_ms, 2),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
