"""POST /webhooks/ghl: signature, replay window, storage and the answers GHL relies on."""

import base64
import json
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import OperationalError

from inbox.models import EventStatus, InboundEvent
from integrations_ghl.management.commands.ghl_simulate import DEV_ONLY_PRIVATE_KEY
from tests.ghl.signing import ghl_event

pytestmark = pytest.mark.django_db


def test_signed_delivery_is_stored_and_processed(post_ghl, location):
    response = post_ghl(ghl_event("ContactCreate"))
    event = InboundEvent.objects.get()
    assert response.status_code == 200
    assert (event.status, event.location, event.signature_scheme) == (
        EventStatus.PROCESSED, location, "ed25519")


def test_tampered_body_answers_401_and_stores_nothing(post_ghl, ghl_signer, location):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    signature = ghl_signer.ed25519_header(body)
    response = post_ghl(body.replace(b"Ava Stone", b"Eve Stone"), signature=signature)
    assert response.status_code == 401
    assert response.json()["reason_code"] == "INVALID_SIGNATURE"
    assert not InboundEvent.objects.exists()


def test_missing_signature_answers_401(post_ghl, location):
    response = post_ghl(ghl_event("ContactCreate"), sign=False)
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_legacy_rsa_signature_verifies_when_ed25519_header_is_absent(post_ghl, ghl_signer,
                                                                       location):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    response = post_ghl(body, sign=False, legacy=ghl_signer.rsa_header(body))
    assert response.status_code == 200
    assert InboundEvent.objects.get().signature_scheme == "rsa"


def test_bad_ed25519_signature_never_falls_back_to_legacy(post_ghl, ghl_signer, location):
    body = json.dumps(ghl_event("ContactCreate")).encode()
    bad = base64.b64encode(b"\0" * 64).decode()
    response = post_ghl(body, signature=bad, legacy=ghl_signer.rsa_header(body))
    assert response.status_code == 401


def test_legacy_signature_cannot_verify_without_a_configured_rsa_key(post_ghl, ghl_signer,
                                                                       settings, location):
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""
    body = json.dumps(ghl_event("ContactCreate")).encode()
    assert post_ghl(body, sign=False, legacy=ghl_signer.rsa_header(body)).status_code == 401


@pytest.mark.parametrize("stamp", ["2020-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z",
                                   "not a time"])
def test_timestamp_outside_the_replay_window_is_refused(post_ghl, location, stamp):
    response = post_ghl(ghl_event("ContactCreate", timestamp=stamp))
    assert response.status_code == 401
    assert response.json()["reason_code"] == "STALE_TIMESTAMP"
    assert not InboundEvent.objects.exists()


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
    body = json.dumps(ghl_event("InvoicePaid")).encode()
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
