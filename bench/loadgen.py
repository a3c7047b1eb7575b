"""Closed-loop load generator for what wrk cannot express: judged bursts and signed webhooks
(asyncio + aiohttp), and the database floor (psycopg, no HTTP). Every loop is bounded by a
request count and a deadline.

A scenario is a `make(worker, i)` returning a request, and a `judge(status, body)` returning
"ok", "refusal" (an expected business refusal) or "error".
"""

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import psycopg

TIMEOUT_S = 30  # one request; a slower answer is counted as an error


@dataclass
class Request:
    method: str
    path: str
    body: dict | None = None
    data: bytes | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Stats:
    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    refusals: int = 0
    errors: int = 0
    reasons: dict = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def record(self, verdict: str, latency: float, sample: str, reason: str = "") -> None:
        self.latencies.append(latency)
        if reason:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if verdict == "ok":
            self.ok += 1
        elif verdict == "refusal":
            self.refusals += 1
        else:
            self.errors += 1
            if len(self.error_samples) < 3:
                self.error_samples.append(sample[:300])

    def summary(self) -> dict:
        done = len(self.latencies)
        ordered = sorted(self.latencies)

        def pct(p):
            return round(ordered[min(done - 1, int(p / 100 * done))] * 1000, 2) if done else None

        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "requests": done,
            "seconds": round(self.elapsed, 3),
            "throughput_rps": round(done / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "ok": self.ok,
            "expected_refusals": self.refusals,
            "errors": self.errors,
            "reasons": self.reasons,
            "error_samples": self.error_samples,
        }


def judge_reason(expected_ok: str, refusals: tuple = ()) -> Callable:
    """200 with reason_code `expected_ok` → ok; a listed refusal code → refusal; else error."""

    def judge(status: int, body: dict | None) -> tuple[str, str]:
        reason = (body or {}).get("reason_code", f"HTTP {status}")
        if status == 200 and reason == expected_ok:
            return "ok", reason
        if reason in refusals:
            return "refusal", reason
        return "error", reason

    return judge


def judge_status(*ok_statuses: int) -> Callable:
    def judge(status: int, body: dict | None) -> tuple[str, str]:
        return ("ok" if status in ok_statuses else "error"), f"HTTP {status}"

    return judge


async def http_load(
    base_url: str,
    name: str,
    make: Callable[[int, int], Request],
    judge: Callable,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    token: str = "",
) -> dict:
    """`concurrency` workers, each sending its next request as soon as the last one answered,
    until `seconds` have passed or `max_requests` were sent in all."""
    stats = Stats(name, concurrency)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sent = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(
        base_url, connector=connector, timeout=timeout, headers=headers
    ) as session:

        async def worker(w: int) -> None:
            nonlocal sent
            i = 0
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                req = make(w, i)
                i += 1
                start = time.perf_counter()
                try:
                    async with session.request(
                        req.method,
                        req.path,
                        json=req.body,
                        data=req.data,
                        headers=req.headers,
                        allow_redirects=False,
                    ) as resp:
                        raw = await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    stats.record("error", time.perf_counter() - start, repr(exc), "transport")
                    continue
                latency = time.perf_counter() - start
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                verdict, reason = judge(status, body if isinstance(body, dict) else None)
                stats.record(
                    verdict, latency, f"{req.method} {req.path} → {status} {raw[:200]!r}", reason
                )

        begin = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        stats.elapsed = time.perf_counter() - begin
    return stats.summary()


# --- database floor -----------------------------------------------------------------------------

# The statements an API deduct sends, as the engine sends them on PostgreSQL, each one round
# trip: the token lookup, then one transaction with the advisory lock and the idempotency
# lookup (one statement), the contact and lot row locks, the contact's stored balance, the lot
# update with its ledger insert (one statement) and the stored response. What the endpoint
# costs with Python, Django and DRF taken away.
_FLOOR_SQL = {
    "token": "SELECT id, secret_hash, location_id FROM api_apiclient "
    "WHERE client_id = %s AND active LIMIT 1",
    "replay": "SELECT pg_try_advisory_xact_lock(%s), r.id FROM (SELECT 1) AS one "
    "LEFT JOIN entitlements_idempotencyrecord r "
    "ON r.location_id = %s AND r.request_id = %s",
    # The contact, then its lots, locked in one statement (entitlements.services._LOCK_SQL).
    "lots": "WITH c AS MATERIALIZED (SELECT id FROM entitlements_contact "
    "WHERE location_id = %s AND external_id = %s FOR UPDATE) "
    "SELECT c.id, x.* FROM c LEFT JOIN LATERAL (SELECT e.id, e.credits_remaining, e.expires_at, "
    "e.status, p.priority, p.active FROM entitlements_entitlement e "
    "JOIN entitlements_productconfig p ON p.id = e.product_config_id "
    "WHERE e.contact_id = c.id AND e.credits_remaining > 0 AND e.status IN ('active', 'paused') "
    "ORDER BY e.id FOR UPDATE OF e) x ON true",
    # The lot update and the stored balance ride on the ledger insert (services._append).
    "ledger": "WITH lot AS (UPDATE entitlements_entitlement "
    "SET credits_remaining = credits_remaining - 1 WHERE id = %s), "
    "balance AS (UPDATE entitlements_contact SET credits_available = %s, "
    "credits_expire_at = NULL WHERE id = %s) "
    "INSERT INTO entitlements_ledgerentry (public_id, location_id, contact_id, "
    "entitlement_id, kind, amount, balance_after, contact_balance_after, source, "
    "request_id, external_ref, correlation_id, note, created_at) "
    "VALUES (%s, %s, %s, %s, 'deduct', -1, %s, %s, 'api', %s, '', %s, '', now())",
    "record": "INSERT INTO entitlements_idempotencyrecord (location_id, request_id, operation, "
    "fingerprint, response_status, response_body, created_at) "
    "VALUES (%s, %s, 'deduct', %s, 200, %s, now())",
}


async def db_floor(
    dsn: str,
    *,
    location_pk: int,
    client_id: str,
    contacts: list[str],
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> dict:
    """The deduct's SQL through psycopg, one connection per worker, same contact spread."""
    stats = Stats("db floor (deduct SQL)", concurrency)
    sent = 0
    deadline = time.perf_counter() + seconds
    q = _FLOOR_SQL

    async def worker(w: int) -> None:
        nonlocal sent
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            i = 0
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                contact = contacts[(i * concurrency + w) % len(contacts)]
                i += 1
                request_id = f"floor-{uuid.uuid4()}"
                start = time.perf_counter()
                try:
                    await conn.execute(q["token"], [client_id])
                    async with conn.transaction():
                        key = int.from_bytes(
                            hashlib.sha256(request_id.encode()).digest()[:8], "big", signed=True
                        )
                        await conn.execute(q["replay"], [key, location_pk, request_id])
                        cur = await conn.execute(q["lots"], [location_pk, contact])
                        contact_pk, lot_pk, remaining = (await cur.fetchone())[:3]
                        await conn.execute(
                            q["ledger"],
                            [
                                lot_pk,
                                remaining - 1,
                                contact_pk,
                                f"led_{uuid.uuid4().hex[:20]}",
                                location_pk,
                                contact_pk,
                                lot_pk,
                                remaining - 1,
                                remaining - 1,
                                request_id,
                                uuid.uuid4().hex,
                            ],
                        )
                        await conn.execute(
                            q["record"],
                            [
                                location_pk,
                                request_id,
                                "0" * 64,
                                json.dumps({"ok": True, "reason_code": "deducted"}),
                            ],
                        )
                except psycopg.Error as exc:
                    stats.record("error", time.perf_counter() - start, repr(exc), "db")
                    continue
                stats.record("ok", time.perf_counter() - start, "", "deducted")

    begin = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    stats.elapsed = time.perf_counter() - begin
    return stats.summary()
