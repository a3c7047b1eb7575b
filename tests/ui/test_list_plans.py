"""PostgreSQL plans of the admin lists at 100,000 contacts and events: every query reaches
the contacts and events tables through an index, never a sequential scan."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entitlements import selectors
from inbox.models import REFUSED_Q, InboundEvent
from kotally.lib.keyset import window
from tests.factories import LocationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROWS = 100_000
EXPLAIN = "EXPLAIN "


@pytest.fixture
def big(postgres, workspace, location):
    """ROWS contacts (most in loc_main, a fifth in loc_two) and ROWS events, inserted by SQL."""
    other = LocationFactory(workspace=workspace, location_id="loc_two")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO entitlements_contact (location_id, external_id, email, name,
                credits_available, credits_expire_at, created_at, updated_at)
            SELECT CASE WHEN i %% 5 = 0 THEN %s ELSE %s END, 'bulk-' || i,
                'member' || i || '@example.com', 'Member ' || i, i %% 12,
                CASE WHEN i %% 7 = 0 THEN now() + (i %% 90) * interval '1 day' END,
                now() - i * interval '1 second', now()
            FROM generate_series(1, %s) AS i
            """,
            [other.pk, location.pk, ROWS],
        )
        cursor.execute(
            """
            INSERT INTO inbox_inboundevent (provider, event_id, event_type, location_id,
                location_ref, payload, signature_scheme, status, reason_code, attempts,
                last_error, error_detail, contact_ref, received_at, updated_at)
            SELECT 'ghl', 'evt-' || i, 'ContactCreate', CASE WHEN i %% 5 = 0 THEN %s ELSE %s END,
                '', '{}', '', CASE WHEN i %% 50 = 0 THEN 'failed' ELSE 'processed' END, '', 1,
                '', '', 'c-' || i, now() - i * interval '1 second', now()
            FROM generate_series(1, %s) AS i
            """,
            [other.pk, location.pk, ROWS],
        )
        # Statistics from every row, not ANALYZE's random sample of 30,000: the same plans in
        # every run (a sample once made the email-prefix search's costs tip to a Seq Scan).
        cursor.execute("SET default_statistics_target = 1000")
        cursor.execute("ANALYZE entitlements_contact")
        cursor.execute("ANALYZE inbox_inboundevent")
        cursor.execute("RESET default_statistics_target")
    return workspace


def _plans(read) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        read()
    plans = []
    with connection.cursor() as cursor:
        for query in ctx.captured_queries:
            cursor.execute(EXPLAIN + query["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def _deep_cursor(**kwargs) -> str:
    """The cursor of a row about two thirds down the list."""
    page = selectors.contacts_window(**kwargs)
    for _ in range(3):
        page = selectors.contacts_window(**kwargs, after=page.next_cursor)
    return page.next_cursor


CONTACT_READS = {
    "workspace, first page": {},
    "one location": {"location": "loc_main"},
    "no credits": {"show": "none"},
    "low balance": {"show": "low"},
    "expiring soon": {"show": "expiring", "location": "loc_main"},
    "id prefix": {"query": "bulk-4242"},
    "email prefix": {"query": "member777"},
    "name fragment": {"query": "ember 9999"},
    "short fragment": {"query": "m1"},
}


def test_contacts_list_reads_contacts_through_an_index(big, location):
    cursor = _deep_cursor(workspace=big)
    reads = {name: {"workspace": big, **kwargs} for name, kwargs in CONTACT_READS.items()}
    reads["deep page"] = {"workspace": big, "after": cursor}
    scanned = []
    for name, kwargs in reads.items():
        if "location" in kwargs:
            kwargs["location"] = location
        plans = _plans(lambda kwargs=kwargs: selectors.contacts_window(**kwargs))
        assert [p for p in plans if "entitlements_contact" in p], name
        scanned += [name for p in plans if "Seq Scan on entitlements_contact" in p]
    assert scanned == []


def test_a_search_reads_each_trigram_index_once_whatever_the_locations(big):
    LocationFactory(workspace=big, location_id="loc_three")
    plans = "\n".join(_plans(lambda: selectors.contacts_window(big, query="ember 9999")))
    assert plans.count(" on contact_name_trgm_idx") == 1
    assert plans.count(" on contact_email_trgm_idx") == 1


def test_events_list_reads_events_through_an_index(big):
    locations = list(big.locations.values_list("pk", flat=True))
    scanned = []
    for status in ("", "failed", "refused", "contact"):
        events = InboundEvent.objects.filter(location__workspace=big)
        if status == "refused":  # the Events page's refused filter (inbox.views._with_status)
            events = events.filter(REFUSED_Q)
        elif status == "contact":  # a search by member
            events = events.filter(contact_ref__in=["c-500", "c-501"])
        elif status:
            events = events.filter(status=status)
        plans = _plans(
            lambda events=events: window(
                events, ("-received_at", "-id"), limit=50, partition=("location_id", locations)
            )
        )
        scanned += [status for p in plans if "Seq Scan on inbox_inboundevent" in p]
    assert scanned == []
