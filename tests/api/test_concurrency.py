"""Real concurrency through the whole HTTP stack on PostgreSQL (SPEC invariants 1, 3, 5):
one Django test client per request, run on a pool of threads that all start together."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from entitlements.idempotency import _advisory_key
from entitlements.models import Entitlement, LedgerEntry, PaymentEvent

from .conftest import POSTS, grant_body, move_body

pytestmark = pytest.mark.django_db(transaction=True)
WORKERS = 20  # like a web tier's worker count; also keeps us far below max_connections


def _in_parallel(token, path, bodies):
    """POST every body at once (a barrier releases the first WORKERS together)."""
    barrier = threading.Barrier(min(WORKERS, len(bodies)))

    def send(body):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            barrier.abort()  # after the first wave, tasks start as soon as a worker is free
            return client.post(path, body, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(send, bodies))


@pytest.fixture
def ten_credits(postgres, api, package):
    response = api.post_json(POSTS["grants"], grant_body(package))
    assert response.json()["credits_granted"] == 10


def test_50_concurrent_deducts_of_a_10_credit_lot_deduct_exactly_10(token, ten_credits):
    responses = _in_parallel(token, POSTS["deduct"], [move_body() for _ in range(50)])
    codes = [r.json()["reason_code"] for r in responses]
    assert codes.count("deducted") == 10
    assert codes.count("INSUFFICIENT_CREDITS") == 40
    assert Entitlement.objects.get().credits_remaining == 0


def test_concurrent_deducts_leave_a_consistent_ledger(token, ten_credits):
    _in_parallel(token, POSTS["deduct"], [move_body() for _ in range(30)])
    balances = sorted(
        LedgerEntry.objects.filter(kind="deduct").values_list("balance_after", flat=True)
    )
    assert balances == list(range(10))


def test_20_concurrent_requests_with_one_request_id_execute_once(token, ten_credits):
    responses = _in_parallel(token, POSTS["deduct"], [move_body(request_id="same")] * 20)
    first = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r]
    replays = [r for r in responses if r.get("Idempotent-Replayed") == "true"]
    in_progress = [r for r in responses if r.status_code == 409]
    assert LedgerEntry.objects.filter(kind="deduct").count() == 1
    assert len(first) == 1 and len(first) + len(replays) + len(in_progress) == 20
    assert all(r.json() == first[0].json() for r in replays)
    assert all(r.json()["reason_code"] == "REQUEST_IN_PROGRESS" for r in in_progress)


def test_10_concurrent_grants_of_one_payment_make_one_lot(postgres, token, package):
    bodies = [grant_body(package, external_payment_id="pay-once") for _ in range(10)]
    responses = _in_parallel(token, POSTS["grants"], bodies)
    codes = sorted(r.json()["reason_code"] for r in responses)
    assert codes == ["DUPLICATE_EVENT"] * 9 + ["grant_applied"]
    assert Entitlement.objects.count() == 1 and PaymentEvent.objects.count() == 1


def test_request_id_held_by_another_transaction_is_409_at_once(token, ten_credits, location):
    """While another transaction executes the same request_id, the answer is an immediate
    409 REQUEST_IN_PROGRESS (never a wait), and nothing is applied or stored."""
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s)", [_advisory_key(location, "busy")]
                )
                held.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(timeout=10)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(POSTS["deduct"], move_body(request_id="busy"), format="json")
    release.set()
    holder.join()
    assert response.status_code == 409
    assert response.json()["reason_code"] == "REQUEST_IN_PROGRESS"
    assert not LedgerEntry.objects.filter(kind="deduct").exists()
