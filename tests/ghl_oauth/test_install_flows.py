"""Both GHL install flows end to end against a fake GHL (tests/ghl_oauth/fake_ghl.py): the
browser goes through /oauth/ghl/start and /oauth/ghl/callback, GHL's webhooks are signed with
test keys and posted through /webhooks/ghl, in the orders GHL may send them."""

from urllib.parse import parse_qs, urlparse

import pytest

from inbox.models import EventStatus, InboundEvent
from integrations_ghl.models import Installation, UserType
from locations.models import Location, LocationStatus
from tests.ghl.signing import ghl_event

from .fake_ghl import FakeGhl

pytestmark = pytest.mark.django_db

COMPANY = "comp_1"


@pytest.fixture
def fake_ghl(ghl, settings):
    return FakeGhl(ghl, client_id=settings.GHL_CLIENT_ID, client_secret=settings.GHL_CLIENT_SECRET)


@pytest.fixture
def install(client, owner, django_capture_on_commit_callbacks):
    """install(code): the owner's browser runs Connect GoHighLevel, consents in GHL (which
    answers with `code`) and comes back to the callback."""
    client.force_login(owner)

    def run(code: str):
        consent = urlparse(client.get("/oauth/ghl/start")["Location"])
        state = parse_qs(consent.query)["state"][0]
        with django_capture_on_commit_callbacks(execute=True):
            return client.get("/oauth/ghl/callback", {"code": code, "state": state})

    return run


def statuses(*location_ids) -> list[str]:
    found = dict(Location.objects.values_list("location_id", "status"))
    return [found.get(location_id) for location_id in location_ids]


def reasons() -> list[str]:
    return list(InboundEvent.objects.order_by("pk").values_list("reason_code", flat=True))


def test_connect_asks_for_the_agency_scopes(install, fake_ghl, client):
    consent = urlparse(client.get("/oauth/ghl/start")["Location"])
    scopes = parse_qs(consent.query)["scope"][0].split()
    assert {"oauth.readonly", "oauth.write"} <= set(scopes)


def test_sub_account_install_links_the_location_whatever_comes_first(
    install, fake_ghl, post_ghl, workspace
):
    post_ghl(ghl_event("AppInstall"))  # GHL's INSTALL webhook, before the callback
    held = InboundEvent.objects.get()
    response = install(fake_ghl.consent_location(location_id="ghl_loc_1", company_id=COMPANY))
    post_ghl(ghl_event("AppInstall"))  # and a redelivery after it
    assert response.status_code == 200
    assert statuses("ghl_loc_1") == [LocationStatus.ACTIVE]
    assert held.reason_code == "AWAITING_LOCATION"
    assert reasons() == ["already_linked", "already_linked"]
    assert Location.objects.get().name == "Studio ghl_loc_1"


def test_code_exchange_sends_no_user_type(install, fake_ghl, ghl):
    install(fake_ghl.consent_location(location_id="ghl_loc_1", company_id=COMPANY))
    exchange = parse_qs(ghl.calls[0].request.body)
    assert "user_type" not in exchange and exchange["grant_type"] == ["authorization_code"]


def test_agency_bulk_install_links_every_installed_location(install, fake_ghl, post_ghl, workspace):
    code = fake_ghl.consent_agency(company_id=COMPANY, location_ids=["ghl_a", "ghl_b"])
    post_ghl(ghl_event("AppInstall.agency"))  # agency-level INSTALL, before the callback
    post_ghl(ghl_event("AppInstall", locationId="ghl_a"))  # a per-location one too
    held = reasons()
    response = install(code)
    assert response.status_code == 200
    assert statuses("ghl_a", "ghl_b") == [LocationStatus.ACTIVE] * 2
    assert Installation.objects.filter(user_type=UserType.COMPANY, company_id=COMPANY).exists()
    assert held == ["AWAITING_COMPANY", "AWAITING_LOCATION"]
    assert reasons() == ["company_installed", "already_linked"]


def test_agency_install_reaches_a_future_location(install, fake_ghl, post_ghl, workspace):
    install(fake_ghl.consent_agency(company_id=COMPANY, location_ids=["ghl_a"]))
    fake_ghl.install_later(company_id=COMPANY, location_id="ghl_loc_future")
    future_install = ghl_event("AppInstall", locationId="ghl_loc_future")
    del future_install["companyId"], future_install["userId"]  # "you may not get these fields"
    post_ghl(future_install)
    post_ghl(ghl_event("LocationCreate"))
    assert statuses("ghl_loc_future") == [LocationStatus.ACTIVE]
    assert reasons() == ["already_linked", "location_linked"]


def test_future_location_install_arriving_after_its_location_create_links_it(
    install, fake_ghl, post_ghl, workspace
):
    install(fake_ghl.consent_agency(company_id=COMPANY, location_ids=["ghl_a"]))
    post_ghl(ghl_event("LocationCreate"))  # the sub-account exists, Kotally not on it yet
    fake_ghl.install_later(company_id=COMPANY, location_id="ghl_loc_future")
    future_install = ghl_event("AppInstall", locationId="ghl_loc_future")
    del future_install["companyId"], future_install["userId"]
    post_ghl(future_install)
    assert statuses("ghl_loc_future") == [LocationStatus.ACTIVE]
    assert reasons() == ["NOT_INSTALLED", "location_linked"]


def test_data_webhooks_of_an_agency_location_wait_for_the_install(
    install, fake_ghl, post_ghl, workspace
):
    code = fake_ghl.consent_agency(company_id=COMPANY, location_ids=["ghl_b"])
    post_ghl(ghl_event("ContactCreate", locationId="ghl_b"))
    install(code)
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.PROCESSED, "contact_saved")
