"""Cursor pagination on every contact list (SPEC §3.9): default 20, at most 100 per page,
opaque cursors, pages that neither overlap nor skip."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from entitlements.models import Appointment, Contact, Source
from entitlements.services import Actor, Payment, credits_grant

from .conftest import LISTS, read_url

ITEMS = 101  # one more than the largest page


@pytest.fixture
def crowded(location, package):
    """m1 with 101 lots/payments/grant entries and 101 upcoming + 101 past bookings, some
    sharing a start time (ties are broken by id)."""
    for n in range(ITEMS):
        credits_grant(
            location=location,
            contact_key="m1",
            product_config_id=package.public_id,
            payment=Payment(f"pay-{n}"),
            actor=Actor(request_id=f"g-{n}"),
        )
    contact = Contact.objects.get(external_id="m1")
    now = timezone.now()
    Appointment.objects.bulk_create(
        [
            Appointment(
                location=location,
                contact=contact,
                external_id=f"apt-{sign}{n}",
                source=Source.API,
                start_time=now + sign * timedelta(hours=1 + n // 3),
            )
            for n in range(ITEMS)
            for sign in (1, -1)
        ]
    )


def _walk(api, suffix, **query):
    """Every page of one list; returns the pages' item lists."""
    pages, cursor = [], None
    while True:
        extra = {**query, **({"cursor": cursor} if cursor else {})}
        body = api.get(read_url("m1", suffix, **extra)).json()
        pages.append(body[LISTS[suffix]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


# Rows per list in `crowded`: the timeline merges 101 payments, 101 grant entries and 202
# bookings.
EXPECTED = {
    "/entitlements": ITEMS,
    "/appointments/upcoming": ITEMS,
    "/appointments/past": ITEMS,
    "/ledger": ITEMS,
    "/payments": ITEMS,
    "/timeline": 4 * ITEMS,
}


@pytest.mark.parametrize("suffix", list(LISTS))
def test_list_pages_default_20_clamp_at_100_and_cover_everything_once(api, crowded, suffix):
    default = api.get(read_url("m1", suffix)).json()
    clamped = api.get(read_url("m1", suffix, limit=5000)).json()
    pages = _walk(api, suffix, limit=30)
    ids = [(item.get("type"), item["id"]) for page in pages for item in page]
    assert (len(default[LISTS[suffix]]), bool(default["next_cursor"])) == (20, True)
    assert len(clamped[LISTS[suffix]]) == 100
    assert len(ids) == len(set(ids)) == EXPECTED[suffix]
    assert [len(page) for page in pages[:-1]] == [30] * (len(pages) - 1)


def _forged(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


FORGED = [
    _forged(["0001-01-01T00:00:00+14:00", 1, 1]),
    _forged(["9999-12-31T23:59:59-14:00", 1]),
    _forged(["0001-01-01T00:00:00+14:00", 1]),
    _forged(["2026-01-01T00:00:00", 1]),
]


@pytest.mark.parametrize("suffix", list(LISTS))
@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "W10", "WyJ4Il0", "eyJhIjogMX0", "%FF%FE", *FORGED]
)
def test_bad_cursor_is_400(api, location, package, suffix, cursor):
    credits_grant(
        location=location,
        contact_key="m1",
        product_config_id=package.public_id,
        payment=Payment(external_payment_id="p"),
        actor=Actor(),
    )
    response = api.get(read_url("m1", suffix, cursor=cursor))
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]
