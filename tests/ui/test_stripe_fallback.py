"""Merchant Stripe fallback settings per location (SPEC §4 Settings, §6.2): owner/admin only,
secrets write-only and encrypted, enabling needs a signing secret."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from kotally.lib.crypto import decrypt, encrypt
from locations.services import KEEP, StripeSecretRequired, stripe_fallback_update
from tests import stripe_shapes as shapes
from tests.ghl.signing import stripe_header

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_0123456789abcdef"
KEY = "rk_test_51Hrestrictedkey"


def _url(location):
    return reverse("location-stripe", args=[location.location_id])


def _save(client, location, **data):
    return client.post(_url(location), data)


@pytest.fixture
def configured(location):
    """loc_main with the fallback on and both secrets stored."""
    return stripe_fallback_update(
        location=location, enabled=True, webhook_secret=SECRET, restricted_key=KEY
    )


@pytest.mark.parametrize("who", ["owner", "admin_user"])
def test_owners_and_admins_turn_the_fallback_on_with_encrypted_secrets(
    request, login, location, who
):
    client = login(request.getfixturevalue(who))
    response = _save(client, location, enabled="on", webhook_secret=SECRET, restricted_key=KEY)
    location.refresh_from_db()
    assert response.status_code == 302 and location.stripe_fallback_enabled
    assert SECRET not in location.stripe_webhook_secret_enc
    assert (
        decrypt(location.stripe_webhook_secret_enc),
        decrypt(location.stripe_restricted_key_enc),
    ) == (SECRET, KEY)


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewers_can_neither_open_nor_change_the_fallback(login, viewer, location, method):
    response = getattr(login(viewer), method)(
        _url(location), {"enabled": "on", "webhook_secret": SECRET}
    )
    location.refresh_from_db()
    assert response.status_code == 403
    assert not location.stripe_fallback_enabled and not location.stripe_webhook_secret_enc


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_workspace_location_is_not_found(login, owner, stranger_location, method):
    response = getattr(login(owner), method)(
        _url(stranger_location), {"enabled": "on", "webhook_secret": SECRET}
    )
    stranger_location.refresh_from_db()
    assert response.status_code == 404
    assert not stranger_location.stripe_webhook_secret_enc


def test_anonymous_visitors_are_sent_to_sign_in(client, location):
    response = client.get(_url(location))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_saving_without_a_csrf_token_is_refused(login, owner, location):
    client = login(owner, enforce_csrf_checks=True)
    response = _save(client, location, enabled="on", webhook_secret=SECRET)
    location.refresh_from_db()
    assert response.status_code == 403 and not location.stripe_webhook_secret_enc


def test_stored_secrets_are_never_rendered(login, owner, configured):
    html = login(owner).get(_url(configured)).content.decode()
    assert SECRET not in html and KEY not in html
    assert '<dd id="secret-state">set</dd>' in html


def test_a_rejected_form_does_not_echo_the_typed_secret(login, owner, location):
    response = _save(
        login(owner),
        location,
        enabled="on",
        webhook_secret=SECRET,
        restricted_key="pk_live_publishable",
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert SECRET not in html and "pk_live_publishable" not in html


def test_page_shows_the_webhook_url_to_paste_into_stripe(login, owner, location, settings):
    settings.KOTALLY_BASE_URL = "https://app.kotally.test/"
    html = login(owner).get(_url(location)).content.decode()
    assert "https://app.kotally.test/webhooks/stripe/loc_main" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"enabled": "on"}, "needs the webhook signing secret"),
        ({"webhook_secret": "sk_test_wrongfield"}, "starts with whsec_"),
        ({"webhook_secret": "whsec_ has spaces"}, "has no spaces"),
        ({"restricted_key": "pk_test_publishable"}, "starts with rk_ or sk_"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_is_saved(login, owner, location, data, message):
    response = _save(login(owner), location, **data)
    location.refresh_from_db()
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not location.stripe_webhook_secret_enc and not location.stripe_restricted_key_enc


def test_typing_a_secret_and_removing_it_at_once_is_refused(login, owner, configured):
    response = _save(
        login(owner),
        configured,
        enabled="on",
        webhook_secret="whsec_other",
        clear_webhook_secret="on",
    )
    configured.refresh_from_db()
    assert response.status_code == 400 and "Either type a new value" in response.content.decode()
    assert decrypt(configured.stripe_webhook_secret_enc) == SECRET


def test_remove_boxes_are_offered_only_for_stored_secrets(login, owner, location):
    client = login(owner)
    before = client.get(_url(location)).content.decode()
    stripe_fallback_update(location=location, enabled=False, restricted_key=KEY)
    after = client.get(_url(location)).content.decode()
    assert 'name="clear_restricted_key"' not in before
    assert 'name="clear_restricted_key"' in after and 'name="clear_webhook_secret"' not in after


def test_empty_inputs_keep_the_stored_secrets(login, owner, configured):
    _save(login(owner), configured, enabled="")
    configured.refresh_from_db()
    assert not configured.stripe_fallback_enabled
    assert (
        decrypt(configured.stripe_webhook_secret_enc),
        decrypt(configured.stripe_restricted_key_enc),
    ) == (SECRET, KEY)


def test_a_typed_secret_replaces_the_stored_one(login, owner, configured):
    _save(login(owner), configured, enabled="on", webhook_secret="whsec_rotated")
    configured.refresh_from_db()
    assert decrypt(configured.stripe_webhook_secret_enc) == "whsec_rotated"


def test_clearing_the_key_keeps_the_secret(login, owner, configured):
    _save(login(owner), configured, enabled="on", clear_restricted_key="on")
    configured.refresh_from_db()
    assert configured.stripe_restricted_key_enc == ""
    assert decrypt(configured.stripe_webhook_secret_enc) == SECRET


def test_clearing_the_secret_while_enabled_is_refused(login, owner, configured):
    response = _save(login(owner), configured, enabled="on", clear_webhook_secret="on")
    configured.refresh_from_db()
    assert response.status_code == 400
    assert decrypt(configured.stripe_webhook_secret_enc) == SECRET


def test_service_refuses_to_enable_without_a_secret(location):
    with pytest.raises(StripeSecretRequired):
        stripe_fallback_update(location=location, enabled=True, restricted_key=KEY)
    location.refresh_from_db()
    assert location.stripe_restricted_key_enc == ""


def test_service_keep_leaves_a_stored_secret_alone(location):
    location.stripe_webhook_secret_enc = encrypt(SECRET)
    location.save()
    updated = stripe_fallback_update(location=location, enabled=True, webhook_secret=KEEP)
    assert decrypt(updated.stripe_webhook_secret_enc) == SECRET


def test_settings_page_lists_each_location_state_without_secrets(login, viewer, configured):
    html = login(viewer).get(reverse("settings")).content.decode()
    assert "loc_main" in html and SECRET not in html
    assert _url(configured) not in html  # viewers get no Set up link


def test_saved_secret_verifies_a_real_stripe_delivery(login, owner, location):
    """End to end: the secret typed in the page is the one the merchant endpoint checks."""
    _save(login(owner), location, enabled="on", webhook_secret=SECRET)
    session = shapes.checkout_session("cs_test_ui")
    body = json.dumps(
        shapes.event("checkout.session.completed", session, event_id="evt_ui_1")
    ).encode()
    response = Client().post(
        f"/webhooks/stripe/{location.location_id}",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_header(body, SECRET),
    )
    assert response.status_code == 200
