"""Run a write at most once per (location, request_id) and replay its stored result (SPEC §3.3).

The stored result and the credit change commit in one transaction. On PostgreSQL a
transaction-scoped advisory lock on the pair answers a concurrent duplicate at once
(`InProgress`) instead of blocking; the unique constraint on (location, request_id) is the
final guard everywhere (SQLite serializes writers with BEGIN IMMEDIATE).
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from kotally.lib.rows import Insert, hot_cursor
from locations.models import Location

from .models import IdempotencyRecord


class InProgress(Exception):
    """The same request_id is executing right now."""


class Reused(Exception):
    """The request_id was used for another operation or another body."""


@dataclass(frozen=True)
class Result:
    status: int
    body: dict
    replayed: bool


def fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _advisory_key(location: Location, request_id: str) -> int:
    digest = hashlib.sha256(f"{location.pk}:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# One round trip: the advisory lock (PostgreSQL; elsewhere a constant true) and the stored
# record of the pair (a LEFT JOIN, so the lock is taken whether or not a record exists).
_STORED_SQL = (
    "SELECT {lock}, r.operation, r.fingerprint, r.response_status, r.response_body "
    "FROM (SELECT 1) AS one LEFT JOIN {table} r ON r.location_id = %s AND r.request_id = %s"
)
_TABLE = IdempotencyRecord._meta.db_table
_BODY = IdempotencyRecord._meta.get_field("response_body")
_INSERT = Insert(IdempotencyRecord)  # the hot path: no queryset to compile


def _lock_and_find(location, request_id, operation, digest, *, lock: bool) -> Result | None:
    """The stored result of this request id, if any. With `lock` on PostgreSQL, first take
    the pair's advisory lock or raise InProgress. Raises Reused for another operation or body.

    The statement's snapshot predates the lock: a duplicate committing in between is not seen
    here, runs again and meets the unique constraint on insert (see run_once)."""
    params = [location.pk, request_id]
    if lock and connection.vendor == "postgresql":
        sql = _STORED_SQL.format(lock="pg_try_advisory_xact_lock(%s)", table=_TABLE)
        params.insert(0, _advisory_key(location, request_id))
    else:
        sql = _STORED_SQL.format(lock="1 = 1", table=_TABLE)
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        locked, stored_operation, stored_digest, status, body = cursor.fetchone()
    if not locked:
        raise InProgress()
    if stored_operation is None:
        return None
    if stored_operation != operation or stored_digest != digest:
        raise Reused()
    return Result(status, _BODY.from_db_value(body, None, connection), replayed=True)


def run_once(
    *,
    location: Location,
    request_id: str,
    operation: str,
    payload,
    execute: Callable[[], tuple[int, dict]],
    also: Callable[[int, dict], tuple[str, list]] | None = None,
) -> Result:
    """Execute `execute()` once for this request id, or replay what it returned before.

    `also(status, body)` may give one more statement (sql, params) of the caller's, run with
    the stored response — in its transaction and, on PostgreSQL, its round trip (the API's
    request log row) — only when `execute` ran.

    Raises InProgress (→ 409) or Reused (→ 422). An exception from `execute` rolls back both
    the credit change and the record: nothing is stored, nothing applied.
    """
    digest = fingerprint(payload)
    try:
        with transaction.atomic():
            stored = _lock_and_find(location, request_id, operation, digest, lock=True)
            if stored is not None:
                return stored
            status, body = execute()
            record = IdempotencyRecord(
                location=location,
                request_id=request_id,
                operation=operation,
                fingerprint=digest,
                response_status=status,
                response_body=body,
            )
            extra_sql, extra = also(status, body) if also else ("", [])
            with hot_cursor() as cursor:
                if extra_sql and connection.vendor == "postgresql":
                    _INSERT.run(record, cursor, prefix=f"WITH also AS ({extra_sql}) ", params=extra)
                else:
                    if extra_sql:
                        cursor.execute(extra_sql, extra)
                    _INSERT.run(record, cursor)
            return Result(status, body, replayed=False)
    except IntegrityError:
        # Another transaction stored this request id between our check and our insert.
        stored = _lock_and_find(location, request_id, operation, digest, lock=False)
        if stored is None:
            raise
        return stored
