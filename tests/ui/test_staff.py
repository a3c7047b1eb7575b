"""The support admin at /staff/: superusers only, with a per-location summary; state columns
are read-only and change only through actions that call the services."""

import pytest
from django.urls import reverse

from accounts.models import BillingStatus, Membership, Role
from api.models import ApiClient
from inbox.models import InboundEvent
from locations.models import LocationStatus
from locations.services import stripe_fallback_update
from tests.factories import LocationFactory, UserFactory

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


@pytest.mark.parametrize(
    "path",
    [
        "/staff/accounts/workspace/",
        "/staff/locations/location/",
        "/staff/entitlements/contact/",
        "/staff/api/apiclient/",
    ],
)
def test_support_admin_lists_open_for_superusers(login, superuser, member, path):
    assert login(superuser).get(path).status_code == 200


def test_location_summary_lists_recent_inbound_events_with_reason(login, superuser, location):
    InboundEvent.objects.create(
        provider="ghl",
        event_id="wh-42",
        event_type="AppointmentCreate",
        location=location,
        payload={},
        status="ignored",
        reason_code="CALENDAR_NOT_CONFIGURED",
    )
    url = reverse("admin:locations_location_summary", args=[location.pk])
    html = login(superuser).get(url).content.decode()
    assert "wh-42" in html and "AppointmentCreate" in html
    assert "<td>ignored</td><td>CALENDAR_NOT_CONFIGURED</td>" in html


def test_location_summary_leaves_out_other_locations_events(
    login, superuser, location, stranger_location
):
    InboundEvent.objects.create(
        provider="ghl", event_id="wh-theirs", location=stranger_location, payload={}
    )
    url = reverse("admin:locations_location_summary", args=[location.pk])
    html = login(superuser).get(url).content.decode()
    assert "wh-theirs" not in html and "No inbound events." in html


# --- state columns are read-only; admin actions go through the services --------------------


def _action(client, model: str, action: str, *objects):
    return client.post(
        f"/staff/{model}/",
        {"action": action, "_selected_action": [o.pk for o in objects]},
        follow=True,
    )


@pytest.fixture
def unbilled(workspace):
    workspace.billing_status = BillingStatus.NONE
    workspace.save()
    return workspace


@pytest.fixture
def pending(unbilled):
    return LocationFactory(
        workspace=unbilled, location_id="loc_pending", status=LocationStatus.PENDING
    )


def test_workspace_billing_status_is_read_only(login, superuser, workspace):
    url = reverse("admin:accounts_workspace_change", args=[workspace.pk])
    html = login(superuser).get(url).content.decode()
    assert 'name="billing_status"' not in html and "Trialing" in html
    assert 'name="name"' in html


def test_mark_active_action_sets_billing_through_the_service(login, superuser, pending):
    _action(login(superuser), "accounts/workspace", "mark_active", pending.workspace)
    pending.refresh_from_db()
    assert pending.workspace.billing_status == BillingStatus.ACTIVE
    assert pending.status == LocationStatus.ACTIVE  # billing_set_status activated it


def test_start_trial_action_starts_a_trial_once(login, superuser, unbilled):
    client = login(superuser)
    _action(client, "accounts/workspace", "start_trial", unbilled)
    response = _action(client, "accounts/workspace", "start_trial", unbilled)
    unbilled.refresh_from_db()
    assert unbilled.billing_status == BillingStatus.TRIALING and unbilled.trial_ends_at
    assert "a trial only starts from" in response.content.decode()


def test_suspend_action_leaves_pending_locations_pending(login, superuser, pending):
    _action(login(superuser), "accounts/workspace", "suspend", pending.workspace)
    pending.refresh_from_db()
    assert pending.workspace.billing_status == BillingStatus.SUSPENDED
    assert pending.status == LocationStatus.PENDING


def test_membership_role_cannot_be_edited_in_the_form(login, superuser, admin_user, workspace):
    membership = Membership.objects.get(user=admin_user)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    login(superuser).post(url, {"role": Role.OWNER})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_make_owner_action_changes_the_role(login, superuser, admin_user, workspace):
    membership = Membership.objects.get(user=admin_user)
    _action(login(superuser), "accounts/membership", "make_owner", membership)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_last_owner_cannot_be_demoted_through_the_admin(login, superuser, owner):
    membership = Membership.objects.get(user=owner)
    response = _action(login(superuser), "accounts/membership", "make_viewer", membership)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    assert "needs at least one owner" in response.content.decode()


def test_last_owner_cannot_be_removed_through_the_admin(login, superuser, owner):
    membership = Membership.objects.get(user=owner)
    response = _action(login(superuser), "accounts/membership", "remove_members", membership)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "needs at least one owner" in response.content.decode()


def test_location_status_is_read_only(login, superuser, pending):
    url = reverse("admin:locations_location_change", args=[pending.pk])
    login(superuser).post(
        url, {"name": "Renamed", "cancellation_window_hours": "", "status": LocationStatus.ACTIVE}
    )
    pending.refresh_from_db()
    assert pending.name == "Renamed"
    assert pending.status == LocationStatus.PENDING  # billing is not set: stays pending


def test_location_admin_never_shows_the_encrypted_stripe_columns(login, superuser, location):
    stripe_fallback_update(location=location, enabled=True, webhook_secret="whsec_secret_1")
    location.refresh_from_db()
    url = reverse("admin:locations_location_change", args=[location.pk])
    html = login(superuser).get(url).content.decode()
    assert "stripe_webhook_secret_enc" not in html and "stripe_restricted_key_enc" not in html
    assert location.stripe_webhook_secret_enc not in html


def test_remove_action_removes_the_location_and_stops_its_tokens(login, superuser, location, token):
    _action(login(superuser), "locations/location", "remove_locations", location)
    location.refresh_from_db()
    assert location.status == LocationStatus.REMOVED
    assert not ApiClient.objects.filter(location=location, active=True).exists()


def test_api_client_active_flag_is_read_only_and_deactivate_is_an_action(login, superuser, token):
    client = ApiClient.objects.get()
    staff = login(superuser)
    url = reverse("admin:api_apiclient_change", args=[client.pk])
    assert 'name="active"' not in staff.get(url).content.decode()
    _action(staff, "api/apiclient", "deactivate", client)
    client.refresh_from_db()
    assert client.active is False
