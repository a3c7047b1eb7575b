"""SQL statements per full HTTP request, authentication included (a regression guard).

The token's last_used_at is set just before, so the once-a-minute last_used_at write does not
happen (it is counted separately). Each count is of a process's second call: the first reads
the client (and a grant its config) from the database; with Redis, the process then keeps
them under the shared epoch (kotally/lib/epoch.py) and later calls read neither. Without Redis
nothing is kept: one statement more per call, two for a grant. SAVEPOINT statements only exist
because each test runs in a transaction; production opens a real transaction instead, so they
are not counted. On PostgreSQL the advisory lock that answers REQUEST_IN_PROGRESS rides on the
request-id lookup, the contact and its lots are locked by one statement, and the lot update and
the contact's stored balance ride on the ledger insert; SQLite runs those two updates as
separate statements.
Every authenticated request writes one row of its client's request log: a write that executes
stores it with its response (a CTE on PostgreSQL, its own statement on SQLite), anything else
with an INSERT at the end.
"""

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import ApiClient
from kotally.lib import epoch

from .conftest import POSTS, grant_body, move_body, read_url


def _statements(send) -> int:
    ApiClient.objects.update(last_used_at=timezone.now())
    epoch.forget()  # a new process
    assert send().status_code == 200
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


def _unkept(statements: int) -> int:
    """The reads a process keeps only with Redis (the token's client, a grant's config)."""
    return 0 if settings.REDIS_URL else statements


def test_deduct_costs_4_statements_on_postgresql(api, member):
    # request_id lookup with the advisory lock, lock contact and lots, lot update and contact
    # balance with the ledger entry, request log with the stored response (no config lookup
    # when only calendar_id is sent)
    deduct = lambda: api.post_json(POSTS["deduct"], move_body())  # noqa: E731
    assert _statements(deduct) == 4 + _split(3) + _unkept(1)


def test_grant_costs_6_statements_on_postgresql(api, package, member):
    # request_id lookup with the advisory lock, lock contact and lots, payment insert-or-ignore
    # (read back only on a conflict), new lot, contact balance and payment → lot link with the
    # ledger entry, request log with the stored response
    grant = lambda: api.post_json(POSTS["grants"], grant_body(package))  # noqa: E731
    assert _statements(grant) == 6 + _split(3) + _unkept(2)


def test_check_costs_3_statements(api, member):
    body = {"location_id": "loc_main", "external_contact_id": "m1", "calendar_id": "cal_pack"}
    assert _statements(lambda: api.post_json(POSTS["check"], body)) == 3 + _unkept(1)


def test_list_read_costs_3_statements(api, member):
    assert _statements(lambda: api.get(read_url("m1", "/ledger"))) == 3 + _unkept(1)


def test_first_call_in_a_minute_adds_the_last_used_at_write(api, member):
    ApiClient.objects.update(last_used_at=None)
    epoch.forget()  # a new process, which reads the client's last use from the database
    with CaptureQueriesContext(connection) as captured:
        api.get(read_url("m1", "/ledger"))
    assert (
        sum(q["sql"].startswith('UPDATE "api_apiclient"') for q in captured.captured_queries) == 1
    )
