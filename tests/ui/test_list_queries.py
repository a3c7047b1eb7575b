"""The Events list and a contact's page run a fixed number of queries, however many events,
ledger entries or payments there are, and page through them by keyset."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from entitlements.services import Actor, Payment, credits_deduct, credits_grant
from inbox.models import InboundEvent
from inbox.views import PAGE_SIZE
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


def _events(location, count, start=0):
    InboundEvent.objects.bulk_create(
        [
            InboundEvent(
                provider="ghl",
                event_id=f"{location.location_id}-{i}",
                event_type="ContactCreate",
                location=location,
                payload={},
                status="processed",
            )
            for i in range(start, start + count)
        ]
    )


@pytest.mark.parametrize("params", [{}, {"status": "processed"}, {"type": "ContactCreate"}])
def test_events_list_queries_do_not_grow_with_the_events(
    login, viewer, location, workspace, params
):
    other = LocationFactory(workspace=workspace, location_id="loc_two")
    client = login(viewer)
    _events(location, 2)
    _events(other, 1)
    few = _count(client, reverse("events"), params)
    _events(location, 3 * PAGE_SIZE, start=10)
    assert _count(client, reverse("events"), params) == few


def test_events_pages_list_every_event_once(login, viewer, location, workspace):
    _events(location, PAGE_SIZE + 5)
    _events(LocationFactory(workspace=workspace, location_id="loc_two"), PAGE_SIZE)
    client = login(viewer)
    page = client.get(reverse("events")).context["page"]
    seen = [e.pk for e in page.object_list]
    while page.next_cursor:
        page = client.get(reverse("events"), {"after": page.next_cursor}).context["page"]
        seen += [e.pk for e in page.object_list]
    assert seen == list(
        InboundEvent.objects.order_by("-received_at", "-pk").values_list("pk", flat=True)
    )


def _grants(package, count, start=0):
    for i in range(start, start + count):
        credits_grant(
            location=package.location,
            contact_key="member-1",
            product_config_id=package.public_id,
            payment=Payment(external_payment_id=f"pay-{i}"),
            actor=Actor(),
        )


# The contact page reads the session, the user, their memberships (2: the workspace switcher
# counts them), the contact, its ledger, timeline (5 sources), payments, lots, credits per
# config and bookings (2); an owner or admin also the menus of the four manual actions (2).
CONTACT_PAGE_QUERIES = {"viewer": 16, "admin_user": 18}


@pytest.mark.parametrize("who", CONTACT_PAGE_QUERIES)
def test_contact_page_queries_do_not_grow_with_the_history(request, login, who, member, package):
    client = login(request.getfixturevalue(who))
    _grants(package, 2, start=100)
    few = _count(client, reverse("contact", args=[member.pk]))
    _grants(package, 40, start=200)
    many = _count(client, reverse("contact", args=[member.pk]))
    assert (few, many) == (CONTACT_PAGE_QUERIES[who],) * 2


def test_the_four_manual_actions_read_their_menus_once(login, admin_user, member, package):
    with CaptureQueriesContext(connection) as ctx:
        html = login(admin_user).get(reverse("contact", args=[member.pk])).content.decode()
    configs = [q for q in ctx.captured_queries if 'FROM "entitlements_productconfig"' in q["sql"]]
    assert len(configs) == 1
    assert html.count(f'<option value="{package.public_id}">') == 3  # grant, deduct, restore


def test_contact_payments_page_by_cursor(login, viewer, member, package):
    _grants(package, 30, start=10)
    client = login(viewer)
    first = client.get(reverse("contact", args=[member.pk])).context["payments"]
    second = client.get(
        reverse("contact", args=[member.pk]), {"payments": first.next_cursor}
    ).context["payments"]
    assert (len(first.items), len(second.items)) == (25, 6)


def test_contact_lots_page_by_cursor(login, viewer, member, package):
    _grants(package, 30, start=10)
    client = login(viewer)
    first = client.get(reverse("contact", args=[member.pk])).context["lots"]
    second = client.get(reverse("contact", args=[member.pk]), {"lots": first.next_cursor}).context[
        "lots"
    ]
    assert (len(first.items), len(second.items)) == (25, 6)


def test_only_lots_with_credits_left_can_be_revoked(login, admin_user, member, package):
    spent = member.entitlements.get()
    deduct = {
        "location": package.location,
        "contact_key": "member-1",
        "actor": Actor(),
        "product_config_id": package.public_id,
        "amount": 10,
    }
    credits_deduct(**deduct)
    _grants(package, 1, start=10)
    forms = login(admin_user).get(reverse("contact", args=[member.pk])).context["forms"]
    form = next(f for f in forms if f.chosen == "revoke")
    assert spent not in form.fields["entitlement"].queryset
    assert form.fields["entitlement"].queryset.count() == 1
