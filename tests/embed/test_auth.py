"""POST /embed/auth: GHL's encrypted context → the embed session, or the documented page."""

import json

import pytest
from django.urls import reverse

from accounts.models import BillingStatus
from locations.models import LocationKind, LocationStatus
from tests.embed.conftest import AUTH, sign_in
from tests.embed.cryptojs import encrypt, ghl_payload, user_context

pytestmark = pytest.mark.django_db


def _denial(response) -> str:
    """The reason code the denial page names; also checks it offers Open Kotally."""
    body = response.content.decode()
    assert "Open Kotally" in body
    return body.split('data-denial="')[1].split('"')[0]


def test_a_valid_context_opens_an_embed_session_cookie(client, location):
    response = sign_in(client)
    assert response.status_code == 204
    cookie = response.cookies["kotally_embed"]
    assert (cookie["samesite"], cookie["secure"], cookie["httponly"]) == ("None", True, True)
    assert (cookie["max-age"], cookie["path"]) == (8 * 3600, "/embed/")
    assert cookie.output().endswith("; Partitioned")


def test_the_admin_session_and_csrf_cookies_are_untouched(client, owner, location):
    client.force_login(owner)
    admin_session = client.cookies["sessionid"].value
    response = sign_in(client)
    assert set(response.cookies) == {"kotally_embed"}
    assert client.cookies["sessionid"].value == admin_session
    page = client.get(reverse("getting-started"))
    assert page.status_code == 200 and page["X-Frame-Options"] == "DENY"


def test_the_embed_session_is_no_admin_session(embed_client):
    response = embed_client.get(reverse("getting-started"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_wrong_secret_gives_the_401_page(client, studio):
    response = sign_in(client, secret="someone-elses-secret")
    assert response.status_code == 401
    assert _denial(response) == "bad_context"
    assert "kotally_embed" not in response.cookies


def test_tampered_ciphertext_gives_the_401_page(client, studio):
    payload = ghl_payload()
    tampered = payload[:40] + ("A" if payload[40] != "A" else "B") + payload[41:]
    response = client.post(AUTH, {"payload": tampered}, content_type="application/json")
    assert (response.status_code, _denial(response)) == (401, "bad_context")
    assert "Ann Member" not in response.content.decode()


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("", "application/json"),
        ("{}", "application/json"),
        ('{"payload": 7}', "application/json"),
        ("not json", "application/json"),
        ("payload=abc", "application/x-www-form-urlencoded"),
        ("[]", "application/json"),
    ],
    ids=["empty", "no-payload", "not-a-string", "not-json", "form", "list"],
)
def test_missing_context_gives_the_401_page(client, location, body, content_type):
    response = client.post(AUTH, body, content_type=content_type)
    assert (response.status_code, _denial(response)) == (401, "no_context")


def test_a_json_body_posted_as_text_plain_is_refused(client, location):
    """A cross-site page can post text/plain without a preflight; it must not sign anyone in."""
    body = json.dumps({"payload": ghl_payload()})
    response = client.post(AUTH, body, content_type="text/plain")
    assert response.status_code == 401 and "kotally_embed" not in response.cookies


def test_agency_view_without_active_location_is_refused(client, location):
    context = user_context(type="agency")
    del context["activeLocation"]  # GHL's agency view sends none
    payload = encrypt(json.dumps(context))
    response = client.post(AUTH, {"payload": payload}, content_type="application/json")
    assert (response.status_code, _denial(response)) == (403, "no_location")


def test_unknown_location_is_refused(client, location):
    response = sign_in(client, "loc_nobody_knows")
    assert (response.status_code, _denial(response)) == (403, "not_connected")


@pytest.mark.parametrize(
    "status", [LocationStatus.DISCONNECTED, LocationStatus.PENDING, LocationStatus.REMOVED]
)
def test_a_location_not_active_is_refused(client, location, status):
    location.status = status
    location.save()
    response = sign_in(client)
    assert (response.status_code, _denial(response)) == (403, "not_connected")


def test_an_api_location_is_not_a_connected_ghl_location(client, location):
    location.kind = LocationKind.API
    location.save()
    assert _denial(sign_in(client)) == "not_connected"


@pytest.mark.parametrize(
    "status", [BillingStatus.SUSPENDED, BillingStatus.CANCELED, BillingStatus.NONE]
)
def test_billing_that_does_not_allow_service_is_refused(client, location, workspace, status):
    workspace.billing_status = status
    workspace.save()
    response = sign_in(client)
    assert (response.status_code, _denial(response)) == (403, "billing_suspended")
    assert "kotally_embed" not in response.cookies


def test_past_due_billing_is_still_served(client, location, workspace):
    workspace.billing_status = BillingStatus.PAST_DUE
    workspace.save()
    assert sign_in(client).status_code == 204


def test_without_a_shared_secret_the_embed_is_off(client, location, settings):
    settings.GHL_SHARED_SECRET = ""
    response = sign_in(client)
    assert (response.status_code, _denial(response)) == (503, "not_configured")


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_auth_takes_only_post(client, location, method):
    assert getattr(client, method)(AUTH).status_code == 405
