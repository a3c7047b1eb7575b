from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.test import Client

from accounts.models import BillingStatus
from integrations_ghl.models import Installation, UserType
from locations.models import Location, LocationStatus
from tests.conftest import PASSWORD
from tests.factories import LocationFactory, WorkspaceFactory

from .conftest import API, CALLBACK, INSTALLED_URL, LOCATION_TOKEN_URL, TOKEN_URL, token_answer

pytestmark = pytest.mark.django_db


def _form(call) -> dict:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_callback_exchanges_code_and_links_the_location(signed_in, workspace, ghl):
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    response = signed_in.get(CALLBACK.replace("code=c&", "code=the-code&"))
    sent = _form(ghl.calls[0])
    assert response.status_code == 200
    assert sent == {
        "client_id": "0123456789abcdef01234567-kotally",
        "client_secret": "test-client-secret",
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://kotally.test/oauth/ghl/callback",
    }
    location = Location.objects.get(location_id="ghl_loc_1")
    assert (location.workspace, location.kind, location.status) == (workspace, "ghl", "active")
    assert location.installation.active


def test_linked_location_takes_its_ghl_business_name(signed_in, ghl):
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    ghl.add(responses.GET, f"{API}/locations/ghl_loc_1", json={"location": {"name": "Zen Yoga"}})
    signed_in.get(CALLBACK)
    assert Location.objects.get(location_id="ghl_loc_1").name == "Zen Yoga"


def test_first_install_replaces_the_signup_agency_reference(signed_in, workspace, ghl):
    workspace.ghl_company_id = "signup-ref-123"
    workspace.save()
    ghl.add(responses.POST, TOKEN_URL, json=token_answer(companyId="real_company"))
    signed_in.get(CALLBACK)
    workspace.refresh_from_db()
    assert workspace.ghl_company_id == "real_company"


def test_forced_user_type_is_sent_at_code_exchange(signed_in, settings, ghl):
    settings.GHL_OAUTH_USER_TYPE = "Company"
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    signed_in.get(CALLBACK)
    assert _form(ghl.calls[0])["user_type"] == "Company"


def test_location_is_pending_until_billing_allows_service(signed_in, workspace, ghl):
    workspace.billing_status = BillingStatus.NONE
    workspace.save()
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    signed_in.get(CALLBACK)
    assert Location.objects.get(location_id="ghl_loc_1").status == LocationStatus.PENDING


def test_company_token_mints_location_tokens_for_approved_and_installed_locations(
    signed_in, workspace, ghl
):
    ghl.add(
        responses.POST,
        TOKEN_URL,
        json=token_answer(
            userType="Company",
            locationId=None,
            access_token="company-acc",
            approvedLocations=["ghl_a"],
        ),
    )
    ghl.add(
        responses.GET,
        INSTALLED_URL,
        json={"locations": [{"_id": "ghl_b", "name": "B", "address": ""}], "count": 1},
    )
    ghl.add(responses.POST, LOCATION_TOKEN_URL, json=token_answer(access_token="loc-a"))
    ghl.add(responses.POST, LOCATION_TOKEN_URL, json=token_answer(access_token="loc-b"))
    signed_in.get(CALLBACK)
    listed, mint = ghl.calls[1].request, ghl.calls[2].request
    assert parse_qs(urlparse(listed.url).query) == {
        "companyId": ["comp_1"],
        "appId": ["0123456789abcdef01234567"],
        "isInstalled": ["true"],
        "limit": ["100"],
        "skip": ["0"],
    }
    assert (mint.headers["Authorization"], mint.headers["Version"]) == (
        "Bearer company-acc",
        "2021-07-28",
    )
    assert _form(ghl.calls[2]) == {"companyId": "comp_1", "locationId": "ghl_a"}
    assert set(
        Location.objects.filter(workspace=workspace).values_list("location_id", flat=True)
    ) == {"ghl_a", "ghl_b"}
    assert (
        Installation.objects.filter(
            user_type=UserType.COMPANY, company_id="comp_1", location=None
        ).count()
        == 1
    )


def test_location_linked_to_another_workspace_is_refused_and_unchanged(signed_in, ghl):
    other = WorkspaceFactory(name="Other Agency")
    LocationFactory(workspace=other, location_id="ghl_loc_1", kind="ghl", status="active")
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    response = signed_in.get(CALLBACK)
    assert response.status_code == 409
    assert b"already connected to another Kotally workspace" in response.content
    assert Location.objects.get(location_id="ghl_loc_1").workspace == other
    assert not Installation.objects.exists()


def test_callback_refuses_a_state_that_does_not_match_the_session(signed_in, ghl):
    signed_in.get("/oauth/ghl/start")
    response = signed_in.get("/oauth/ghl/callback?code=c&state=forged")
    assert response.status_code == 400
    assert len(ghl.calls) == 0


def test_install_started_in_ghl_resumes_after_sign_in(client, owner, workspace, ghl):
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    parked = client.get("/oauth/ghl/callback?code=c")
    assert parked.status_code == 200 and not Location.objects.exists()
    response = client.post(
        "/accounts/login/?next=/oauth/ghl/finish",
        {"username": owner.email, "password": PASSWORD, "next": "/oauth/ghl/finish"},
        follow=True,
    )
    assert response.status_code == 200 and not Location.objects.exists()  # the confirm page
    client.post("/oauth/ghl/finish")
    assert Location.objects.get(location_id="ghl_loc_1").workspace == workspace


def test_install_without_our_state_is_linked_only_after_a_confirming_post(
    client, owner, workspace, ghl
):
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    client.force_login(owner)  # e.g. lured to a callback URL carrying someone else's code
    response = client.get("/oauth/ghl/callback?code=c", follow=True)
    assert b"Link GoHighLevel to" in response.content and not Location.objects.exists()
    client.post("/oauth/ghl/finish")
    assert Location.objects.get(location_id="ghl_loc_1").workspace == workspace


def test_confirming_the_install_needs_the_csrf_token(owner, ghl):
    browser = Client(enforce_csrf_checks=True)
    ghl.add(responses.POST, TOKEN_URL, json=token_answer())
    browser.force_login(owner)
    browser.get("/oauth/ghl/callback?code=c")
    assert browser.post("/oauth/ghl/finish").status_code == 403
    assert not Location.objects.exists()


def test_finish_without_a_pending_install_explains(signed_in):
    response = signed_in.get("/oauth/ghl/finish")
    assert response.status_code == 404
    assert b"no GoHighLevel install waiting" in response.content
