"""Signed webhook deliveries for tests: real Ed25519/RSA/Stripe signatures made from keys
generated here, posted through the real URLs, with Celery eager.

Import the fixtures into a conftest (`from tests.ghl.signing import *`) to use them.
"""

import base64
import json
import time
import uuid
from pathlib import Path

import pytest
import stripe
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.db.models import Sum

from entitlements.models import Entitlement, LedgerEntry
from kotally.celery import app as celery_app
from kotally.lib.crypto import encrypt

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STRIPE_SECRET = "whsec_test_merchant_secret"
STRIPE_KEY = "rk_test_merchant_restricted"


# The app id of GHL_CLIENT_ID below: the `appId` of the GHL fixtures (fixtures/ghl/README.md).
GHL_CLIENT_ID = "0123456789abcdef01234567-kotally"


def fixture(kind: str, name: str) -> dict:
    """A recorded payload, verbatim (see fixtures/<kind>/README.md for its source)."""
    return json.loads((FIXTURES / kind / f"{name}.json").read_text())


def delivery_fields(at: float | None = None) -> dict:
    """`webhookId` and `timestamp`, which docs/oauth/WebhookAuthentication.md of GHL's docs
    says every delivery's payload carries ("timestamp": "2025-01-28T14:35:00Z", "webhookId":
    "abc123xyz"); the per-event docs leave them out."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at or time.time()))
    return {"timestamp": stamp, "webhookId": f"wh_{uuid.uuid4().hex}"}


def ghl_event(fixture_name: str, /, **top) -> dict:
    """One delivery of a recorded GHL payload: the fixture with fresh delivery fields, plus
    any top-level overrides."""
    return {**fixture("ghl", fixture_name), **delivery_fields(), **top}


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class GhlSigner:
    def __init__(self):
        self.ed25519 = ed25519.Ed25519PrivateKey.generate()
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def ed25519_header(self, body: bytes) -> str:
        return base64.b64encode(self.ed25519.sign(body)).decode()

    def rsa_header(self, body: bytes) -> str:
        signature = self.rsa.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


@pytest.fixture
def ghl_signer(settings):
    settings.GHL_CLIENT_ID = GHL_CLIENT_ID
    signer = GhlSigner()
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = _pem(signer.ed25519.public_key())
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = _pem(signer.rsa.public_key())
    return signer


@pytest.fixture
def celery_eager():
    """Run tasks in-process whatever REDIS_URL says (it decides the default in settings)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def post_ghl(client, ghl_signer, celery_eager, django_capture_on_commit_callbacks):
    """post_ghl(payload | bytes, signature=..., legacy=...) → response, running the
    after-commit enqueue (and so the eager task) before returning."""

    def post(payload, *, signature: str | None = None, legacy: str | None = None, sign=True):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {}
        if signature is not None:
            headers["HTTP_X_GHL_SIGNATURE"] = signature
        elif sign:
            headers["HTTP_X_GHL_SIGNATURE"] = ghl_signer.ed25519_header(body)
        if legacy is not None:
            headers["HTTP_X_WH_SIGNATURE"] = legacy
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/webhooks/ghl", data=body, content_type="application/json", **headers
            )

    return post


def stripe_header(body: bytes, secret: str = STRIPE_SECRET, at: int | None = None) -> str:
    """`Stripe-Signature` made by stripe-python's own signing code (HMAC-SHA256 of
    "<t>.<body>")."""
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=at)


@pytest.fixture
def merchant_location(location):
    location.stripe_fallback_enabled = True
    location.stripe_webhook_secret_enc = encrypt(STRIPE_SECRET)
    location.stripe_restricted_key_enc = encrypt(STRIPE_KEY)
    location.save()
    return location


@pytest.fixture
def post_stripe(client, celery_eager, django_capture_on_commit_callbacks):
    def post(payload, *, location_id="loc_main", header: str | None = None):
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/webhooks/stripe/{location_id}",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header if header is not None else stripe_header(body),
            )

    return post


def balance(location, contact_key: str) -> int:
    """The contact's credits left over all its lots (0 when unknown)."""
    total = Entitlement.objects.filter(
        location=location, contact__external_id=contact_key
    ).aggregate(total=Sum("credits_remaining"))["total"]
    return total or 0


def entries(location, kind: str) -> int:
    return LedgerEntry.objects.filter(location=location, kind=kind).count()
