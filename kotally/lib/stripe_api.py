"""What every Stripe integration shares: the pinned API version, the API base, timeouts and
webhook verification. Kotally's own billing (`billing/`) and a merchant's Stripe account
(`integrations_stripe/`) both build their clients here.

The API version is pinned HERE and nowhere else. It decides the shape of every response and,
because Stripe renders webhook payloads in the endpoint's version, webhook endpoints must be
created with the same one (docs/stripe.md, docs/billing.md).
"""

import json

import stripe
from django.conf import settings

from .text import first_problem, reject_constant

# stripe-python 16.1.0's own version (`stripe.api_version`); tests/test_stripe_api.py fails when
# an SDK upgrade moves it, so a version change is always a deliberate edit of this line.
API_VERSION = "2026-10-28.endive"
TIMEOUT_SECONDS = 20


class StripeUnavailable(Exception):
    """Stripe could not be reached, failed or rate-limited us: the inbox retries with backoff."""

    retryable = True


class InvalidWebhook(Exception):
    """A missing, wrong or stale `Stripe-Signature` (INVALID_SIGNATURE), or a signed body that
    is not a JSON object the database can store (INVALID_JSON)."""

    def __init__(self, reason_code: str, message: str):
        super().__init__(message)
        self.reason_code = reason_code


def client(api_key: str) -> stripe.StripeClient:
    """A client for one account; every call goes to STRIPE_API_BASE (a fake Stripe in tests)."""
    return stripe.StripeClient(
        api_key=api_key,
        stripe_version=API_VERSION,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def transient(exc: stripe.StripeError) -> bool:
    """Worth retrying: the network, Stripe's own 5xx, rate limits and lock timeouts."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return (exc.http_status or 0) >= 500 or exc.code == "lock_timeout"


EVENT_KEY_MAX = 255  # the inbox's InboundEvent.event_id


def event_key(payload: dict, prefix: str = "") -> str:
    """The inbox key of a verified event: `prefix` and its id. Stripe's event ids are short
    strings ("evt_..."); anything else is not a Stripe event, and a key longer than the column
    would be cut and collide with another event's. Raises InvalidWebhook."""
    event_id = payload.get("id")
    if not isinstance(event_id, str) or not event_id or len(prefix + event_id) > EVENT_KEY_MAX:
        raise InvalidWebhook("INVALID_JSON", "The event has no id.")
    return prefix + event_id


def webhook_payload(body: bytes, header: str, secret: str) -> dict:
    """Verify `Stripe-Signature` with stripe-python (HMAC-SHA256 over "<t>.<body>", 5-minute
    tolerance) and return the event as a dict. Raises InvalidWebhook, also for a signed body
    jsonb cannot store (NUL, a lone surrogate, NaN): storing it would fail as a database error
    (a 503 that Stripe retries for three days) instead of the 400 it is."""
    try:
        text = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, header, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        # Parsed here, not by stripe.Event: a signed non-object must not crash its builder.
        payload = json.loads(text, parse_constant=reject_constant)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidWebhook("INVALID_SIGNATURE", "Missing or invalid Stripe-Signature.") from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidWebhook("INVALID_JSON", "The body is not a JSON object.") from exc
    if not isinstance(payload, dict):
        raise InvalidWebhook("INVALID_JSON", "The body is not a JSON object.")
    if problem := first_problem(payload):
        raise InvalidWebhook("INVALID_JSON", problem)
    return payload
