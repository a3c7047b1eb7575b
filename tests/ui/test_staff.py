"""The support admin at /staff/: superusers only, with a per-location summary."""

import pytest
from django.urls import reverse

from integrations_ghl.models import InboundEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(email="ops@kotally.test", is_staff=True, is_superuser=True)


def test_location_summary_shows_status_billing_and_counts(login, superuser, member):
    url = reverse("admin:locations_location_summary", args=[member.location.pk])
    html = login(superuser).get(url).content.decode()
    assert "loc_main" in html and "Trialing" in html
    assert "<th>Ledger entries</th><td>1</td>" in html
    assert "pay-1" in html


def test_staff_flag_without_superuser_cannot_open_the_support_admin(login, owner):
    owner.is_staff = True
    owner.save()
    response = login(owner).get("/staff/")
    assert response.status_code == 302
    assert "/staff/login/" in response.url


def test_ledger_entries_are_read_only_in_the_support_admin(login, superuser, member):
    entry = member.ledger.get()
    url = reverse("admin:entitlements_ledgerentry_delete", args=[entry.pk])
    assert login(superuser).post(url, {"post": "yes"}).status_code == 403
    assert member.ledger.count() == 1


@pytest.mark.parametrize("path", ["/staff/accounts/workspace/", "/staff/locations/location/",
                                  "/staff/entitlements/contact/", "/staff/api/apiclient/"])
def test_support_admin_lists_open_for_superusers(login, superuser, member, path):
    assert login(superuser).get(path).status_code == 200


def test_location_summary_lists_recent_inbound_events_with_reason(login, superuser, location):
    InboundEvent.objects.create(
        provider="ghl", event_id="wh-42", event_type="AppointmentCreate", location=location,
        payload={}, status="ignored", reason_code="CALENDAR_NOT_CONFIGURED",
    )
    url = reverse("admin:locations_location_summary", args=[location.pk])
    html = login(superuser).get(url).content.decode()
    assert "wh-42" in html and "AppointmentCreate" in html
    assert "<td>ignored</td><td>CALENDAR_NOT_CONFIGURED</td>" in html


def test_location_summary_leaves_out_other_locations_events(login, superuser, location,
                                                            stranger_location):
    InboundEvent.objects.create(provider="ghl", event_id="wh-theirs", location=stranger_location,
                                payload={})
    url = reverse("admin:locations_location_summary", args=[location.pk])
    html = login(superuser).get(url).content.decode()
    assert "wh-theirs" not in html and "No inbound events." in html
