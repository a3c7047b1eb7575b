"""POST /webhooks/ghl: signature, replay protection, the app id, storage and the answers GHL
relies on (it retries only after a 429: the same body, ~10 minutes later, up to 6 times)."""

import base64
import json
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import OperationalError
from django.utils import timezone

from inbox.models import EventStatus, InboundEvent
from integrations_ghl.management.commands.ghl_simulate import DEV_ONLY_PRIVATE_KEY
from integrations_ghl.models import Installation
from kotally import settings as kotally_settings
from locations.models import LocationStatus
from tests.ghl.signing import balance, delivery_fields, fixture, ghl_event
from tests.ghl_oauth.conftest import make_installation

pytestmark = pytest.mark.django_db


@contextmanager
def minutes_later(minutes: float):
    """The whole system's clock `minutes` ahead (GHL's retry comes ~10 minutes later)."""
    later = timezone.now() + timedelta(minutes=minutes)
    with mock.patch("django.utils.timezone.now", return_value=later):
        yield


def test_signed_delivery_is_stored_and_processed(post_ghl, location):
    response = post_ghl(ghl_event("ContactCreate"))
    event = InboundEvent.objects.get()
    assert response.status_code == 200
    assert (event.status, event.location, event.signature_scheme) == (
        EventStatus.PROCESSED,
        location,
        "ed25519",
    )


def test_tampered_body_answers_401_and_stores_nothing(post_ghl, ghl_signer, location):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    signature = ghl_signer.ed25519_header(body)
    response = post_ghl(body.replace(b"John Deo", b"Eve Deo"), signature=signature)
    assert response.status_code == 401
    assert response.json()["reason_code"] == "INVALID_SIGNATURE"
    assert not InboundEvent.objects.exists()


def test_missing_signature_answers_401(post_ghl, location):
    response = post_ghl(ghl_event("ContactCreate"), sign=False)
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_legacy_rsa_signature_verifies_when_ed25519_header_is_absent(
    post_ghl, ghl_signer, location
):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    response = post_ghl(body, sign=False, legacy=ghl_signer.rsa_header(body))
    assert response.status_code == 200
    assert InboundEvent.objects.get().signature_scheme == "rsa"


def test_bad_ed25519_signature_never_falls_back_to_legacy(post_ghl, ghl_signer, location):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    bad = base64.b64encode(b"\0" * 64).decode()
    response = post_ghl(body, signature=bad, legacy=ghl_signer.rsa_header(body))
    assert response.status_code == 401


def test_legacy_signature_by_a_key_other_than_the_configured_one_is_refused(
    post_ghl, settings, location
):
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = kotally_settings.GHL_WEBHOOK_RSA_PUBLIC_KEY
    body = json.dumps(ghl_event("ContactCreate")).encode()
    forged = base64.b64encode(b"\0" * 512).decode()
    assert post_ghl(body, sign=False, legacy=forged).status_code == 401


@pytest.mark.parametrize(
    "stamp", ["2020-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z", "not a time"]
)
def test_timestamp_beyond_the_retry_horizon_is_refused(post_ghl, location, stamp):
    response = post_ghl(ghl_event("ContactCreate", timestamp=stamp))
    assert response.status_code == 401
    assert response.json()["reason_code"] == "STALE_TIMESTAMP"
    assert not InboundEvent.objects.exists()


def test_default_retry_horizon_is_at_least_two_hours():
    assert kotally_settings.GHL_WEBHOOK_MAX_AGE_SECONDS >= 2 * 3600


def test_body_signed_an_hour_ago_is_accepted(post_ghl, location):
    an_hour_ago = timezone.now().timestamp() - 3600
    response = post_ghl({**fixture("ghl", "ContactCreate"), **delivery_fields(an_hour_ago)})
    assert response.status_code == 200
    assert InboundEvent.objects.get().status == EventStatus.PROCESSED


def test_byte_identical_retry_ten_minutes_later_is_processed_once(post_ghl, location, pack):
    body = json.dumps({**fixture("ghl", "InvoicePaid"), **delivery_fields()}).encode()
    first = post_ghl(body)
    with minutes_later(10):
        retry = post_ghl(body)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json()["reason_code"] == "duplicate"
    assert balance(location, "ghl_contact_ava") == 10


def test_delivery_answered_429_is_processed_when_ghl_resends_it(post_ghl, location, pack):
    body = json.dumps({**fixture("ghl", "InvoicePaid"), **delivery_fields()}).encode()
    with mock.patch.object(InboundEvent.objects, "create", side_effect=OperationalError("down")):
        refused = post_ghl(body)
    replies = []
    for retry in (1, 2):  # GHL's retries, ~10 minutes apart, byte for byte the same
        with minutes_later(10 * retry):
            replies.append(post_ghl(body).json()["reason_code"])
    assert refused.status_code == 429
    assert replies == ["received", "duplicate"]
    assert balance(location, "ghl_contact_ava") == 10


def test_body_of_another_marketplace_app_is_stored_ignored_and_changes_nothing(post_ghl, workspace):
    installation = make_installation(workspace)
    foreign = ghl_event("AppUninstall", appId="another-apps-id")
    response = post_ghl(foreign)
    event = InboundEvent.objects.get()
    installation.refresh_from_db()
    assert response.status_code == 200
    assert (event.status, event.reason_code, event.location) == (
        EventStatus.IGNORED,
        "FOREIGN_APP",
        None,
    )
    assert installation.active and installation.location.status == LocationStatus.ACTIVE


def test_uninstall_of_this_app_disconnects_the_location(post_ghl, workspace):
    installation = make_installation(workspace)
    post_ghl(ghl_event("AppUninstall"))
    assert not Installation.objects.get(pk=installation.pk).active


def test_legacy_rsa_key_defaults_to_the_one_ghl_publishes():
    """docs/oauth/WebhookAuthentication.md of GHL's docs prints a 4096-bit RSA key."""
    pem = kotally_settings.GHL_WEBHOOK_RSA_PUBLIC_KEY
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 4096
    assert "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC" in pem


def test_malformed_json_with_a_valid_signature_answers_400(post_ghl, location):
    response = post_ghl(b'{"type": "ContactCreate",')
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_duplicate_delivery_answers_200_and_changes_nothing(post_ghl, location):
    payload = ghl_event("ContactCreate")
    post_ghl(payload)
    before = InboundEvent.objects.get()
    response = post_ghl(payload)
    assert response.status_code == 200
    assert response.json()["reason_code"] == "duplicate"
    assert list(InboundEvent.objects.values_list("pk", "attempts")) == [(before.pk, 1)]


def test_invoice_without_webhook_id_is_deduplicated_on_the_body_hash(post_ghl, location):
    body = json.dumps(fixture("ghl", "InvoicePaid")).encode()
    post_ghl(body)
    post_ghl(body)
    event = InboundEvent.objects.get()
    assert event.event_id.startswith("sha256:")
    assert event.event_type == "InvoicePaid"


def test_storage_failure_answers_429_so_ghl_retries(post_ghl, location):
    with mock.patch.object(InboundEvent.objects, "create", side_effect=OperationalError("down")):
        response = post_ghl(ghl_event("ContactCreate"))
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"


def test_get_answers_405_json(client):
    response = client.get("/webhooks/ghl")
    assert response.status_code == 405
    assert response.json()["reason_code"] == "METHOD_NOT_ALLOWED"


def _dev_signature(body: bytes) -> str:
    key = serialization.load_pem_private_key(DEV_ONLY_PRIVATE_KEY.encode(), password=None)
    return base64.b64encode(key.sign(body)).decode()


def test_simulator_dev_key_is_refused_outside_debug(post_ghl, location):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    assert post_ghl(body, signature=_dev_signature(body)).status_code == 401


def test_simulator_dev_key_is_accepted_in_debug(post_ghl, settings, location):
    settings.DEBUG = True
    body = json.dumps(ghl_event("ContactCreate")).encode()
    assert post_ghl(body, signature=_dev_signature(body)).status_code == 200


def test_malformed_public_key_setting_answers_429_not_500(post_ghl, settings, location):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nnope\n-----END"
    assert post_ghl(ghl_event("ContactCreate")).status_code == 429


def test_signed_but_absurdly_nested_body_answers_400_and_stores_nothing(post_ghl, location):
    response = post_ghl(b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()
