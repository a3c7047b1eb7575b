"""Real threads against PostgreSQL: row locks, the payment key and advisory locks under load."""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from entitlements import services
from entitlements.idempotency import InProgress, run_once
from entitlements.models import Contact, Entitlement, LedgerEntry
from tests.entitlements.helpers import deduct, grant, restore, run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _deduct_one(location, i):
    return services.credits_deduct(
        location=location,
        contact_key="m1",
        calendar_id="cal_pack",
        actor=services.Actor(request_id=f"d{i}"),
    )


def test_fifty_concurrent_deducts_take_exactly_the_ten_credits(postgres, location, package):
    granted = grant(location, package).entitlement_id
    outcomes = run_concurrently(50, lambda i: _deduct_one(location, i))
    codes = Counter(o.reason_code for o in outcomes)
    assert codes == {"deducted": 10, "INSUFFICIENT_CREDITS": 40}
    assert Entitlement.objects.get(public_id=granted).credits_remaining == 0
    assert LedgerEntry.objects.aggregate(total=Sum("amount"))["total"] == 0


def test_twenty_concurrent_runs_of_one_request_id_execute_once(postgres, location, package):
    grant(location, package)
    executions = Counter()

    def execute():
        executions["n"] += 1
        outcome = _deduct_one(location, 0)
        return 200, {"reason_code": outcome.reason_code, "balance_after": outcome.balance_after}

    def attempt(_):
        try:
            return run_once(
                location=location,
                request_id="same",
                operation="deduct",
                payload={"amount": 1},
                execute=execute,
            )
        except InProgress:
            return "in-progress"

    answers = run_concurrently(20, attempt)
    results = [a for a in answers if a != "in-progress"]
    assert executions["n"] == 1
    assert sum(not r.replayed for r in results) == 1
    assert {(r.status, r.body["balance_after"]) for r in results} == {(200, 9)}


def test_ten_concurrent_grants_of_one_payment_make_one_lot(postgres, location, package):
    def execute():
        outcome = grant(location, package, payment="inv-1")
        return 200, {"reason_code": outcome.reason_code, "entitlement_id": outcome.entitlement_id}

    def attempt(i):
        return run_once(
            location=location,
            request_id=f"g{i}",
            operation="grant",
            payload={"i": i},
            execute=execute,
        ).body

    bodies = run_concurrently(10, attempt)
    assert Entitlement.objects.count() == 1
    assert Counter(b["reason_code"] for b in bodies) == {"grant_applied": 1, "DUPLICATE_EVENT": 9}
    assert {b["entitlement_id"] for b in bodies} == {Entitlement.objects.get().public_id}


def test_concurrent_first_grants_create_one_contact(postgres, location, package):
    outcomes = run_concurrently(10, lambda i: grant(location, package, contact="new"))
    assert all(o.ok for o in outcomes)
    assert Contact.objects.filter(external_id="new").count() == 1


def test_mixed_storm_leaves_every_lot_matching_its_ledger(postgres, location, package, membership):
    """Deducts, restores and grants race on two members' shared lots. Each lot's final
    balance must equal what the successful outcomes say happened to it."""
    for contact in ("a", "b"):
        grant(location, package, contact=contact)
        grant(location, membership, contact=contact)
    expected = Counter({lot.public_id: lot.credits_remaining for lot in Entitlement.objects.all()})

    def storm(i):
        rng = random.Random(i)
        changes = Counter()
        for step in range(6):
            contact = rng.choice("ab")
            calendar = rng.choice(("cal_pack", "cal_member"))
            actor = services.Actor(request_id=f"s{i}-{step}")
            move = rng.choice(("deduct", "deduct", "restore", "grant"))
            if move == "deduct":
                outcome = services.credits_deduct(
                    location=location,
                    contact_key=contact,
                    calendar_id=calendar,
                    actor=actor,
                    amount=rng.randint(1, 2),
                    external_ref=f"apt-{i}-{step}",
                )
                if outcome.ok:
                    changes[outcome.entitlement_id] -= outcome.credits_changed
            elif move == "restore":
                outcome = services.credits_restore(
                    location=location, contact_key=contact, calendar_id=calendar, actor=actor
                )
                if outcome.ok:
                    changes[outcome.entitlement_id] += outcome.credits_changed
            else:
                outcome = grant(location, package, contact=contact, payment=f"p-{i}-{step}")
                changes[outcome.entitlement_id] += outcome.credits_granted
        return changes

    for changes in run_concurrently(12, storm):
        expected.update(changes)
    actual = {lot.public_id: lot.credits_remaining for lot in Entitlement.objects.all()}
    assert actual == dict(expected)


def test_members_booking_one_reference_at_once_all_deduct_without_an_error(
    postgres, location, package
):
    members = [f"m{i}" for i in range(8)]
    for member in members:
        grant(location, package, contact=member)

    def book(i):
        return services.credits_deduct(
            location=location,
            contact_key=members[i],
            calendar_id="cal_pack",
            external_ref="shared-ref",
            actor=services.Actor(request_id=f"b{i}"),
        )

    outcomes = run_concurrently(len(members), book)
    assert [o.reason_code for o in outcomes] == ["deducted"] * len(members)


def _waiting_for_a_lock(timeout: float = 10.0) -> bool:
    """True once another session waits on a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def _held_grant(location, config, committed: threading.Event, release: threading.Event):
    """A grant whose transaction stays open, holding the member's lock, until `release`."""
    try:
        with transaction.atomic():
            outcome = grant(location, config)
            committed.set()
            release.wait(10)
        return outcome
    finally:
        connection.close()


@pytest.mark.parametrize("move", ["deduct", "restore"])
def test_a_movement_waiting_on_a_grant_sees_the_new_lot_in_the_stored_balance(
    postgres, location, package, move
):
    """The deduct (or restore) reads the member's contact and lots in one statement, whose
    snapshot predates its wait for the contact's lock: the lot a grant creates meanwhile must
    still be counted in the balance it stores and reports."""
    grant(location, package)  # 10 credits
    deduct(location, calendar_id="cal_pack")  # 9 left, one deduction to restore
    granted, release = threading.Event(), threading.Event()
    pool = ThreadPoolExecutor(2)
    held = pool.submit(_held_grant, location, package, granted, release)
    assert granted.wait(10)

    def movement():
        try:
            return (deduct if move == "deduct" else restore)(location, calendar_id="cal_pack")
        finally:
            connection.close()

    moving = pool.submit(movement)
    assert _waiting_for_a_lock(), "the movement never waited for the grant's lock"
    release.set()
    assert held.result(10).ok and moving.result(10).ok
    pool.shutdown()
    expected = 9 + 10 + (-1 if move == "deduct" else 1)
    assert Contact.objects.get(external_id="m1").credits_available == expected
    assert LedgerEntry.objects.latest("id").contact_balance_after == expected
