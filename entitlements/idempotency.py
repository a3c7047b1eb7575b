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


def _stored(location, request_id, operation, digest) -> Result | None:
    # Unique key: no ORDER BY needed, and only the columns the replay uses.
    rows = IdempotencyRecord.objects.filter(location=location, request_id=request_id).values_list(
        "operation", "fingerprint", "response_status", "response_body"
    )[:1]
    if not rows:
        return None
    stored_operation, stored_digest, status, body = rows[0]
    if stored_operation != operation or stored_digest != digest:
        raise Reused()
    return Result(status, body, replayed=True)


def run_once(
    *,
    location: Location,
    request_id: str,
    operation: str,
    payload,
    execute: Callable[[], tuple[int, dict]],
) -> Result:
    """Execute `execute()` once for this request id, or replay what it returned before.

    Raises InProgress (→ 409) or Reused (→ 422). An exception from `execute` rolls back both
    the credit change and the record: nothing is stored, nothing applied.
    """
    digest = fingerprint(payload)
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    key = _advisory_key(location, request_id)
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
                    if not cursor.fetchone()[0]:
                        raise InProgress()
            if (stored := _stored(location, request_id, operation, digest)) is not None:
                return stored
            status, body = execute()
            IdempotencyRecord.objects.create(
                location=location,
                request_id=request_id,
                operation=operation,
                fingerprint=digest,
                response_status=status,
                response_body=body,
            )
            return Result(status, body, replayed=False)
    except IntegrityError:
        # Another transaction stored this request id between our check and our insert.
        stored = _stored(location, request_id, operation, digest)
        if stored is None:
            raise
        return stored
