"""locations.services, the only writer of Location rows and status."""

import pytest

from accounts.models import BillingStatus
from api.models import ApiClient
from locations import services
from locations.models import Location, LocationKind, LocationStatus
from locations.signals import location_removed
from tests.factories import LocationFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def unbilled(db):
    return WorkspaceFactory(billing_status=BillingStatus.NONE)


def test_transition_table_forbids_a_removed_location_becoming_disconnected(location):
    location.status = LocationStatus.REMOVED
    with pytest.raises(services.IllegalTransition):
        services._set_status(location, LocationStatus.DISCONNECTED)


def test_every_status_has_a_row_in_the_transition_table():
    assert set(services.TRANSITIONS) == set(LocationStatus.values)


def test_disconnect_leaves_a_removed_location_removed(location):
    services.location_remove(location=location)
    assert services.location_disconnect(location=location) is False
    location.refresh_from_db()
    assert location.status == LocationStatus.REMOVED


def test_disconnect_marks_an_active_location_disconnected(location):
    assert services.location_disconnect(location=location) is True
    location.refresh_from_db()
    assert location.status == LocationStatus.DISCONNECTED


def test_remove_sends_the_signal_inside_its_transaction(location):
    seen = []

    def receiver(sender, *, location, **kwargs):
        seen.append(location.status)

    location_removed.connect(receiver)
    try:
        assert services.location_remove(location=location) is True
        assert services.location_remove(location=location) is False
    finally:
        location_removed.disconnect(receiver)
    assert seen == [LocationStatus.REMOVED]


def test_remove_deactivates_the_locations_api_clients(location, token, stranger_token):
    services.location_remove(location=location)
    assert not ApiClient.objects.filter(location=location, active=True).exists()
    assert ApiClient.objects.filter(active=True).count() == 1  # the stranger's


def test_connect_ghl_creates_a_pending_location_without_billing(unbilled):
    location = services.location_connect_ghl(workspace=unbilled, location_id="ghl_new")
    assert (location.kind, location.status, location.name) == (
        LocationKind.GHL,
        LocationStatus.PENDING,
        "ghl_new",
    )


def test_connect_ghl_brings_a_removed_location_back_active_with_billing(location):
    services.location_remove(location=location)
    again = services.location_connect_ghl(workspace=location.workspace, location_id="loc_main")
    assert (again.kind, again.status) == (LocationKind.GHL, LocationStatus.ACTIVE)


def test_connect_ghl_refuses_another_workspaces_location(location, stranger_workspace):
    with pytest.raises(services.LocationTaken):
        services.location_connect_ghl(workspace=stranger_workspace, location_id="loc_main")


def test_activate_pending_activates_only_that_workspaces_pending_locations(unbilled):
    mine = LocationFactory(workspace=unbilled, status=LocationStatus.PENDING)
    theirs = LocationFactory(status=LocationStatus.PENDING)
    assert services.locations_activate_pending(workspace=unbilled) == 1
    assert Location.objects.get(pk=mine.pk).status == LocationStatus.ACTIVE
    assert Location.objects.get(pk=theirs.pk).status == LocationStatus.PENDING


def test_api_location_needs_billing(unbilled):
    with pytest.raises(services.BillingRequired):
        services.api_location_create(workspace=unbilled)
    assert not Location.objects.exists()


def test_api_location_ensure_reuses_the_live_api_location(workspace):
    first, created = services.api_location_ensure(workspace=workspace)
    again, created_again = services.api_location_ensure(workspace=workspace)
    assert (created, created_again, again) == (True, False, first)


def test_rename_sets_the_name(location):
    services.location_rename(location=location, name="Yoga Loft")
    location.refresh_from_db()
    assert location.name == "Yoga Loft"
