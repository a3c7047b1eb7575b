import pytest
import responses

from entitlements.models import ProductConfig
from inbox.models import InboundEvent
from integrations_ghl.installs import handle_install, handle_uninstall
from integrations_ghl.models import Installation, UserType
from kotally.lib.crypto import encrypt
from locations.models import Location, LocationStatus
from tests.factories import ProductConfigFactory

from .conftest import LOCATION_TOKEN_URL, make_installation, token_answer

pytestmark = pytest.mark.django_db


def _event(payload) -> InboundEvent:
    return InboundEvent.objects.create(
        provider="ghl", event_id=str(payload), event_type=payload["type"], payload=payload
    )


def test_uninstall_disconnects_the_location_and_keeps_its_data(workspace):
    installation = make_installation(workspace)
    ProductConfigFactory(location=installation.location)
    result = handle_uninstall(
        _event({"type": "UNINSTALL", "appId": "app", "locationId": "ghl_loc_1"})
    )
    installation.refresh_from_db()
    assert (result.status, result.reason_code) == ("processed", "location_disconnected")
    assert Location.objects.get(location_id="ghl_loc_1").status == LocationStatus.DISCONNECTED
    assert not installation.active
    assert ProductConfig.objects.filter(location__location_id="ghl_loc_1").count() == 1


def test_uninstall_of_an_unknown_location_is_ignored(db):
    result = handle_uninstall(_event({"type": "UNINSTALL", "locationId": "nope"}))
    assert (result.status, result.reason_code) == ("ignored", "UNKNOWN_LOCATION")


def test_install_before_its_oauth_callback_is_held_for_the_location(db):
    result = handle_install(_event({"type": "INSTALL", "companyId": "c_x", "locationId": "l_x"}))
    assert (result.status, result.reason_code) == ("held", "AWAITING_LOCATION")
    assert not Location.objects.exists()


def test_agency_install_before_its_oauth_callback_is_held_for_the_agency(db):
    result = handle_install(_event({"type": "INSTALL", "companyId": "c_x"}))
    assert (result.status, result.reason_code) == ("held", "AWAITING_COMPANY")


def test_install_of_a_known_agency_location_links_it_pending_billing(workspace, ghl):
    workspace.billing_status = "none"
    workspace.save()
    Installation.objects.create(
        workspace=workspace,
        user_type=UserType.COMPANY,
        company_id="comp_1",
        access_token_enc=encrypt("company-acc"),
        refresh_token_enc=encrypt("company-ref"),
        expires_at="2999-01-01T00:00:00Z",
    )
    ghl.add(responses.POST, LOCATION_TOKEN_URL, json=token_answer(locationId="ghl_new"))
    result = handle_install(
        _event({"type": "INSTALL", "companyId": "comp_1", "locationId": "ghl_new"})
    )
    location = Location.objects.get(location_id="ghl_new")
    assert (result.status, result.reason_code) == ("processed", "location_linked")
    assert (location.workspace, location.status) == (workspace, LocationStatus.PENDING)


def test_install_redelivery_for_a_linked_location_changes_nothing(workspace):
    make_installation(workspace)
    result = handle_install(
        _event({"type": "INSTALL", "companyId": "comp_1", "locationId": "ghl_loc_1"})
    )
    assert (result.status, result.reason_code) == ("processed", "already_linked")
