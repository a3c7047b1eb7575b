"""The support admin at /staff/: superusers only, with a per-location summary."""

import pytest
from django.urls import reverse

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
