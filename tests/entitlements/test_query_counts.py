"""Bounded SQL: each engine write costs a fixed number of queries, run the way the API runs
it (inside idempotency.run_once, with the location and workspace already loaded)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entitlements.idempotency import run_once
from locations.models import Location
from tests.entitlements.helpers import deduct, grant

# Statements per call, transaction control left out (the test's wrapping transaction turns
# BEGIN/COMMIT into SAVEPOINT/RELEASE). On PostgreSQL the request-id read takes the advisory
# lock, the contact and its lots are locked by one statement, and the lot and contact balance
# updates are CTEs of the ledger insert; SQLite runs the two updates on their own.
SPLIT_ON_SQLITE = 2
# request-id read, contact and lots lock, lot + balance update + ledger insert, record insert
DEDUCT = 4
DEDUCT_BY_CONFIG = DEDUCT + 1  # the config read
# A new booking: read, insert-or-ignore, read back (a concurrent booking by another member
# with the same reference must not become an IntegrityError).
DEDUCT_WITH_NEW_REF = DEDUCT + 3
DEDUCT_WITH_KNOWN_REF = DEDUCT + 2  # a rebooking: read and update
# config read, request-id read, contact and lots lock, payment insert-or-ignore (read back only
# on a conflict), lot insert, contact balance + payment → lot link + ledger insert, record
# insert. The new lot is inserted full: its entry has no lot update; SQLite runs the balance
# update and the link on their own.
GRANT = 7
GRANT_SPLIT_ON_SQLITE = 2


@pytest.fixture
def loaded(location):
    return Location.objects.select_related("workspace").get(pk=location.pk)


def _count(location, request_id, call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        run_once(
            location=location,
            request_id=request_id,
            operation="op",
            payload={},
            execute=lambda: (200, {"ok": call().ok}),
        )
    statements = [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))
    ]
    return len(statements)


@pytest.fixture
def split() -> int:
    return 0 if connection.vendor == "postgresql" else SPLIT_ON_SQLITE


@pytest.fixture
def funded(loaded, package):
    grant(loaded, package)
    grant(loaded, package)  # a second lot: the count must not grow with the lots
    return loaded


def test_deduct_by_calendar_costs_a_fixed_number_of_queries(funded, split):
    assert _count(funded, "d1", lambda: deduct(funded, calendar_id="cal_pack")) == DEDUCT + split


def test_deduct_by_config_costs_one_more_for_the_config(funded, package, split):
    call = lambda: deduct(funded, product_config_id=package.public_id)  # noqa: E731
    assert _count(funded, "d1", call) == DEDUCT_BY_CONFIG + split


def test_deduct_with_a_new_external_ref_adds_the_booking_insert(funded, split):
    call = lambda: deduct(funded, calendar_id="cal_pack", external_ref="apt-1")  # noqa: E731
    assert _count(funded, "d1", call) == DEDUCT_WITH_NEW_REF + split


def test_deduct_with_a_known_external_ref_adds_the_booking_read_and_update(funded, split):
    deduct(funded, calendar_id="cal_pack", external_ref="apt-1")
    call = lambda: deduct(funded, calendar_id="cal_pack", external_ref="apt-1")  # noqa: E731
    assert _count(funded, "d2", call) == DEDUCT_WITH_KNOWN_REF + split


def test_grant_to_a_known_contact_costs_a_fixed_number_of_queries(funded, package):
    split = 0 if connection.vendor == "postgresql" else GRANT_SPLIT_ON_SQLITE
    assert _count(funded, "g1", lambda: grant(funded, package)) == GRANT + split
