"""SQL statements per full HTTP request, authentication included (a regression guard).

The token's last_used_at is set just before, so the once-a-minute last_used_at write does not
happen (it is counted separately). SAVEPOINT statements only exist because each test runs in
a transaction; production opens a real transaction instead, so they are not counted. On
PostgreSQL the advisory lock that answers REQUEST_IN_PROGRESS rides on the request-id lookup, the
contact and its lots are locked by one statement, and the lot update and the contact's stored
balance ride on the ledger insert; SQLite runs those two updates as separate statements.
Every authenticated request writes one row of its client's request log: a write that executes
stores it with its response (a CTE on PostgreSQL, its own statement on SQLite), anything else
with an INSERT at the end.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import ApiClient

from .conftest import POSTS, grant_body, move_body, read_url


def _statements(send) -> int:
    ApiClient.objects.update(last_used_at=timezone.now())
    with CaptureQueriesContext(connection) as captured:
        response = send()
    assert response.status_code == 200
    return sum(
        1
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    )


def _split(statements: int) -> int:
    """The statements SQLite runs on their own (CTEs on PostgreSQL)."""
    return 0 if connection.vendor == "postgresql" else statements


def test_deduct_costs_5_statements_on_postgresql(api, member):
    # token, request_id lookup with the advisory lock, lock contact and lots, lot update and
    # contact balance with the ledger entry, request log with the stored response (no config
    # lookup when only calendar_id is sent)
    assert _statements(lambda: api.post_json(POSTS["deduct"], move_body())) == 5 + _split(3)


def test_grant_costs_8_statements_on_postgresql(api, package, member):
    # token, request_id lookup with the advisory lock, config, lock contact and lots, payment
    # insert-or-ignore (read back only on a conflict), new lot, contact balance and payment →
    # lot link with the ledger entry, request log with the stored response
    grant = lambda: api.post_json(POSTS["grants"], grant_body(package))  # noqa: E731
    assert _statements(grant) == 8 + _split(3)


def test_check_costs_4_statements(api, member):
    body = {"location_id": "loc_main", "external_contact_id": "m1", "calendar_id": "cal_pack"}
    assert _statements(lambda: api.post_json(POSTS["check"], body)) == 4


def test_list_read_costs_4_statements(api, member):
    assert _statements(lambda: api.get(read_url("m1", "/ledger"))) == 4


def test_first_call_in_a_minute_adds_the_last_used_at_write(api, member):
    ApiClient.objects.update(last_used_at=None)
    with CaptureQueriesContext(connection) as captured:
        api.get(read_url("m1", "/ledger"))
    assert (
        sum(q["sql"].startswith('UPDATE "api_apiclient"') for q in captured.captured_queries) == 1
    )
