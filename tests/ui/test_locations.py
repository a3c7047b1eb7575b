"""Locations page: GHL connection health (last event, token refresh state), Reconnect, remove
(SPEC §4 Locations)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inbox.models import InboundEvent, Provider
from locations.models import LocationStatus
from tests.factories import LocationFactory
from tests.ghl_oauth.conftest import make_installation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ghl_app(settings):
    settings.GHL_CLIENT_ID = "0123456789abcdef01234567-kotally"
    settings.GHL_CLIENT_SECRET = "test-client-secret"


def _event(
    location,
    n,
    *,
    provider=Provider.GHL,
    status="processed",
    event_type="ContactCreate",
    ago=timedelta(minutes=5),
    **fields,
):
    return InboundEvent.objects.create(
        provider=provider,
        event_id=f"evt-{location.location_id}-{n}",
        event_type=event_type,
        location=location,
        payload={},
        status=status,
        received_at=timezone.now() - ago,
        **fields,
    )


def _page(client) -> str:
    return client.get(reverse("locations")).content.decode()


def test_ghl_location_shows_its_newest_ghl_event(login, owner, workspace):
    ghl = make_installation(workspace).location
    _event(ghl, 1, event_type="ContactCreate", ago=timedelta(hours=2))
    _event(ghl, 2, event_type="AppointmentCreate", status="failed")
    _event(
        ghl,
        3,
        provider=Provider.STRIPE_MERCHANT,
        event_type="invoice.paid",
        ago=timedelta(minutes=1),
    )
    html = _page(login(owner))
    assert "AppointmentCreate" in html and 'class="badge failed"' in html
    assert "invoice.paid" not in html


def test_ghl_location_without_events_says_so(login, owner, workspace):
    make_installation(workspace)
    assert "No GHL events received yet" in _page(login(owner))


def test_failing_token_refresh_shows_count_and_last_error(login, owner, workspace):
    make_installation(workspace, refresh_failures=2, last_error="GHL answered 502")
    html = _page(login(owner))
    assert "refresh failing (2×)" in html
    assert "Last error: GHL answered 502" in html


def test_expired_access_token_is_flagged(login, owner, workspace):
    make_installation(workspace, expires_in=timedelta(minutes=-5))
    assert "expired, refresh due" in _page(login(owner))


def test_disconnected_location_offers_reconnect_to_admins(login, admin_user, workspace):
    installation = make_installation(workspace, active=False, last_error="uninstalled")
    installation.location.status = LocationStatus.DISCONNECTED
    installation.location.save()
    html = _page(login(admin_user))
    assert f'href="{reverse("ghl-connect")}" aria-label="Reconnect ghl_loc_1"' in html
    assert "revoked" in html


def test_connected_location_has_no_reconnect(login, owner, workspace, settings):
    make_installation(workspace, scopes=" ".join(settings.GHL_SCOPES))
    assert "Reconnect ghl_loc_1" not in _page(login(owner))


def test_install_without_the_write_back_scopes_is_asked_to_reconnect(login, owner, workspace):
    make_installation(workspace, scopes="contacts.readonly calendars.readonly")
    html = _page(login(owner))
    assert "Reconnect ghl_loc_1" in html
    assert "new permissions: contacts.write, locations/customFields.readonly" in html


def test_viewers_see_health_but_no_actions(login, viewer, workspace):
    installation = make_installation(workspace, active=False)
    installation.location.status = LocationStatus.DISCONNECTED
    installation.location.save()
    html = _page(login(viewer))
    assert "revoked" in html
    assert "Reconnect" not in html and "Remove ghl_loc_1" not in html


def test_other_workspaces_locations_and_events_are_not_shown(
    login, owner, workspace, stranger_workspace
):
    theirs = make_installation(stranger_workspace, location_id="ghl_theirs").location
    _event(theirs, 1, event_type="InvoicePaid")
    html = _page(login(owner))
    assert "ghl_theirs" not in html and "InvoicePaid" not in html


def test_page_queries_do_not_grow_with_locations(login, owner, workspace):
    client = login(owner)
    first = make_installation(workspace).location
    _event(first, 1)
    with CaptureQueriesContext(connection) as one:
        _page(client)
    for n in range(2, 7):
        location = make_installation(workspace, location_id=f"ghl_loc_{n}").location
        _event(location, n)
    with CaptureQueriesContext(connection) as six:
        _page(client)
    assert len(six) == len(one)


def test_remove_still_works_from_the_page(login, admin_user, location):
    response = login(admin_user).post(reverse("location-remove", args=[location.location_id]))
    location.refresh_from_db()
    assert response.status_code == 302 and location.status == LocationStatus.REMOVED


def test_ghl_location_without_tokens_offers_reconnect(login, owner, workspace):
    LocationFactory(
        workspace=workspace, location_id="ghl_bare", kind="ghl", status=LocationStatus.PENDING
    )
    html = _page(login(owner))
    assert "no tokens" in html and "Reconnect ghl_bare" in html


def test_reconnect_is_hidden_when_the_ghl_app_is_not_configured(login, owner, workspace, settings):
    settings.GHL_CLIENT_ID = ""
    make_installation(workspace, active=False)
    assert "Reconnect ghl_loc_1" not in _page(login(owner))
