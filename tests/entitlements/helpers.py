"""Engine test helpers: a fixed clock, short service calls, and the ledger invariant check."""

import dataclasses
import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Sum

from entitlements import services
from entitlements.models import Entitlement, LedgerEntry, Source

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_payments = itertools.count(1)
ACTOR = services.Actor(source=Source.API, request_id="req-test", correlation_id="cor-test")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


_PAYMENT_FIELDS = {field.name for field in dataclasses.fields(services.Payment)}


def grant(location, config, contact="m1", payment=None, **kw):
    """credits_grant with a fresh payment id; payment fields (provider, paid_at, ...) may be
    passed as keywords beside the service's own."""
    kw.setdefault("now", T0)
    paid = {key: kw.pop(key) for key in list(kw) if key in _PAYMENT_FIELDS}
    return services.credits_grant(
        location=location,
        contact_key=contact,
        product_config_id=config.public_id,
        payment=services.Payment(payment or f"pay-{next(_payments)}", **paid),
        actor=ACTOR,
        **kw,
    )


def deduct(location, contact="m1", **kw):
    kw.setdefault("now", T0)
    return services.credits_deduct(location=location, contact_key=contact, actor=ACTOR, **kw)


def restore(location, contact="m1", **kw):
    kw.setdefault("now", T0)
    return services.credits_restore(location=location, contact_key=contact, actor=ACTOR, **kw)


def check(location, contact="m1", **kw):
    kw.setdefault("now", T0)
    return services.eligibility_check(location=location, contact_key=contact, **kw)


def lot(public_id: str) -> Entitlement:
    return Entitlement.objects.select_related("product_config").get(public_id=public_id)


def assert_ledger_consistent() -> None:
    """SPEC §1 invariant 1 over every lot, plus each entry's running lot balance."""
    sums = dict(
        LedgerEntry.objects.values("entitlement_id")
        .annotate(total=Sum("amount"))
        .values_list("entitlement_id", "total")
    )
    for entitlement in Entitlement.objects.all():
        assert entitlement.credits_remaining == sums.get(entitlement.pk, 0), entitlement
        assert 0 <= entitlement.credits_remaining <= entitlement.credits_granted, entitlement
    running: dict[int, int] = {}
    for entry in LedgerEntry.objects.order_by("pk"):
        running[entry.entitlement_id] = running.get(entry.entitlement_id, 0) + entry.amount
        assert entry.balance_after == running[entry.entitlement_id], entry


def run_concurrently(n: int, work, timeout: float = 60.0) -> list:
    """Run `work(i)` for i in 0..n-1 on n threads released together; return their results.

    Each thread closes its own database connection. Threads still running after `timeout`
    fail the test: a deadlock or a lock wait that never ends.
    """
    start = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def runner(i):
        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:  # reported below, on the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout}s"
    assert errors == [], errors
    return results
