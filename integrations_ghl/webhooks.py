"""`POST /webhooks/ghl`: verify the signature on the raw body, then the inbox's one intake
pattern — store the raw event under a unique id → answer at once → process in a Celery task
enqueued after commit (SPEC §5.2).

GHL retries a delivery only when it gets HTTP 429 (resending the same body about 10 minutes
later, up to 6 times), so every failure to store answers 429, never 5xx, and a body is
accepted up to GHL_WEBHOOK_MAX_AGE_SECONDS after its `timestamp`: replay protection is the
stored `webhookId` (else the body hash), never a short time window. A body signed for another
Marketplace app (GHL signs every app's webhooks with the same key) is stored as ignored
(FOREIGN_APP) and never processed. Answers are always small JSON bodies, never HTML pages.
"""

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from inbox.intake import answer, store_event
from inbox.models import EventReason, EventStatus, Provider
from kotally.lib.text import first_problem, reject_constant
from kotally.lib.timeutil import parse_aware

from . import signatures
from .handlers import INVOICE_EVENTS, INVOICE_OTHER
from .installations import app_id

logger = logging.getLogger("kotally.webhooks")

# A sender's clock may run a little ahead of ours.
FUTURE_SKEW = timedelta(minutes=5)


def is_invoice(payload: dict) -> bool:
    """Invoice webhooks carry no `type`; they are recognised by their shape (SPEC §5.2;
    docs/webhook events/InvoicePaid.md, InvoiceVoid.md, InvoicePartiallyPaid.md)."""
    return "type" not in payload and ("invoiceNumber" in payload or "amountPaid" in payload)


def event_type_of(payload: dict) -> str:
    """`type`, or for an invoice the event its `status` stands for (`paid` → InvoicePaid,
    `void` → InvoiceVoid, `partially_paid` → InvoicePartiallyPaid, as in GHL's examples)."""
    if is_invoice(payload):
        return INVOICE_EVENTS.get(str(payload.get("status")), INVOICE_OTHER)
    return str(payload.get("type") or "")


def location_ref_of(payload: dict) -> str:
    """The GHL location an event is about: `altId` for invoices, `id` for LocationCreate
    (docs/webhook events/LocationCreate.md), else `locationId`."""
    if payload.get("altType") == "location" and payload.get("altId"):
        return str(payload["altId"])
    if payload.get("type") == "LocationCreate":
        return str(payload.get("id") or "")
    return str(payload.get("locationId") or "")


def contact_ref_of(payload: dict) -> str:
    """The GHL contact an event is about: `appointment.contactId` for bookings, `id` for
    Contact* events, else `contactId` (orders, invoices)."""
    appointment = payload.get("appointment")
    if isinstance(appointment, dict) and appointment.get("contactId"):
        return str(appointment["contactId"])[:255]
    if str(payload.get("type") or "").startswith("Contact"):
        return str(payload.get("id") or "")[:255]
    return str(payload.get("contactId") or "")[:255]


def is_foreign(payload: dict) -> bool:
    """The body names another Marketplace app. Both official SDKs drop such bodies
    (highlevel-api-python src/highlevel/webhook/webhook_manager.py; highlevel-api-sdk
    lib/webhook/webhook-manager.ts); GHL documents `appId` only on INSTALL, UNINSTALL and
    PLAN_CHANGE, so a body without one is ours. Without GHL_CLIENT_ID there is nothing to
    compare with."""
    ours = app_id()
    return bool(ours) and "appId" in payload and str(payload["appId"]) != ours


def _parse_timestamp(value) -> datetime:
    """GHL's `timestamp`: ISO 8601 with an offset, or a Unix time in seconds/milliseconds."""
    if isinstance(value, bool):
        raise ValueError("timestamp is not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    return parse_aware(str(value))


def _fresh(payload: dict, now: datetime) -> bool:
    """False for a `timestamp` older than GHL's retry horizon, or ahead of our clock by more
    than FUTURE_SKEW (docs/oauth/WebhookAuthentication.md documents the field; the per-event
    docs do not, so a body without one is accepted)."""
    if "timestamp" not in payload:
        return True
    try:
        sent = _parse_timestamp(payload["timestamp"])
    except (ValueError, OverflowError, OSError):
        return False
    max_age = timedelta(seconds=settings.GHL_WEBHOOK_MAX_AGE_SECONDS)
    return now - max_age <= sent <= now + FUTURE_SKEW


@csrf_exempt
def ghl_webhook(request):
    """POST /webhooks/ghl — see the module docstring for the status codes."""
    if request.method != "POST":
        return answer(405, "METHOD_NOT_ALLOWED", "POST only.")
    body = request.body
    try:
        scheme = signatures.verify(
            body,
            ghl_signature=request.headers.get("X-GHL-Signature"),
            legacy_signature=request.headers.get("X-WH-Signature"),
        )
    except ValueError:
        # A malformed public key in settings: ask GHL to retry while the operator fixes it.
        logger.exception("GHL webhook public key setting is not a valid PEM key")
        return answer(429, "TRY_AGAIN", "Webhook verification is misconfigured; retry later.")
    if scheme is None:
        return answer(401, "INVALID_SIGNATURE", "Missing or invalid webhook signature.")
    try:
        payload = json.loads(body, parse_constant=reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return answer(400, "INVALID_JSON", "The body is not JSON.")
    if not isinstance(payload, dict):
        return answer(400, "INVALID_JSON", "The body is not a JSON object.")
    # jsonb cannot store NUL or a lone surrogate: refused here, not a database error (429)
    # that GHL would retry six times.
    if problem := first_problem(payload):
        return answer(400, "INVALID_JSON", problem)
    if not _fresh(payload, timezone.now()):
        return answer(401, "STALE_TIMESTAMP", "The webhook timestamp is outside the replay window.")

    event_id = str(payload.get("webhookId") or "") or "sha256:" + hashlib.sha256(body).hexdigest()
    foreign = is_foreign(payload)
    try:
        _, created = store_event(
            provider=Provider.GHL,
            event_id=event_id,
            event_type=event_type_of(payload),
            # Another app's event is kept for the operator, out of every workspace's sight.
            location_ref="" if foreign else location_ref_of(payload),
            contact_ref="" if foreign else contact_ref_of(payload),
            payload=payload,
            signature_scheme=scheme,
            final=(EventStatus.IGNORED, EventReason.FOREIGN_APP) if foreign else None,
        )
    except DatabaseError:
        logger.exception("could not store GHL webhook %s; answering 429 so GHL retries", event_id)
        return answer(429, "TRY_AGAIN", "The event could not be stored; retry later.")
    return answer(200, "received" if created else "duplicate")
