import threading

import pytest

from entitlements.idempotency import InProgress, Reused, run_once
from entitlements.models import IdempotencyRecord, LedgerEntry
from tests.entitlements.helpers import deduct, grant, run_concurrently


def _deduct_body(location):
    outcome = deduct(location, calendar_id="cal_pack")
    return 200, {"reason_code": outcome.reason_code, "balance_after": outcome.balance_after}


def _run(location, request_id="r1", operation="deduct", payload=None, execute=None):
    return run_once(
        location=location,
        request_id=request_id,
        operation=operation,
        payload=payload or {"amount": 1},
        execute=execute or (lambda: _deduct_body(location)),
    )


def test_second_run_replays_the_stored_result_without_executing(location, package):
    grant(location, package)
    first = _run(location)
    again = _run(location)
    assert (again.replayed, again.body) == (True, first.body)
    assert LedgerEntry.objects.count() == 2


def test_refusals_are_stored_and_replayed(location, package):
    first = _run(location)
    grant(location, package)
    again = _run(location)
    assert again.body["reason_code"] == first.body["reason_code"] == "NO_ENTITLEMENT"


def test_same_request_id_with_another_body_is_reused(location, package):
    grant(location, package)
    _run(location)
    with pytest.raises(Reused):
        _run(location, payload={"amount": 2})


def test_same_request_id_for_another_operation_is_reused(location, package):
    grant(location, package)
    _run(location)
    with pytest.raises(Reused):
        _run(location, operation="restore")


def test_request_id_is_scoped_to_the_location(location, package, stranger_location):
    grant(location, package)
    _run(location)
    other = _run(stranger_location, execute=lambda: (200, {"ran": True}))
    assert (other.replayed, other.body) == (False, {"ran": True})


def test_failure_inside_execute_stores_nothing_and_applies_nothing(location, package):
    grant(location, package)

    def explode():
        _deduct_body(location)
        raise RuntimeError("crash after the deduct")

    with pytest.raises(RuntimeError):
        _run(location, execute=explode)
    assert not IdempotencyRecord.objects.exists()
    assert LedgerEntry.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_duplicate_while_the_first_executes_is_in_progress_at_once(postgres, location):
    inside, release = threading.Event(), threading.Event()

    def slow():
        inside.set()
        release.wait(10)
        return 200, {"done": True}

    def work(i):
        if i == 0:
            return _run(location, execute=slow).body
        inside.wait(10)
        try:
            _run(location, execute=lambda: (200, {"second": True}))
        except InProgress:
            return "in-progress"
        finally:
            release.set()

    assert run_concurrently(2, work, timeout=20) == [{"done": True}, "in-progress"]
