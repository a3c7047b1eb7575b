"""`POST /webhooks/ghl`: verify the signature on the raw body, then the inbox's one intake
pattern — store the raw event under a unique id → answer at once → process in a Celery task
enqueued after commit (SPEC §5.2).

GHL retries a delivery only when it gets HTTP 429, so every failure to store answers 429,
never 5xx. Answers are always small JSON bodies, never HTML error pages.
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
from inbox.models import Provider
from kotally.lib.timeutil import parse_aware

from . import signatures
from .handlers import INVOICE_OTHER, INVOICE_PAID

logger = logging.getLogger("kotally.webhooks")


def is_invoice(payload: dict) -> bool:
    """Invoice webhooks carry no `type`; they are recognised by their shape (SPEC §5.2)."""
    return "type" not in payload and ("invoiceNumber" in payload or "amountPaid" in payload)


def event_type_of(payload: dict) -> str:
    if is_invoice(payload):
        return INVOICE_PAID if payload.get("status") == "paid" else INVOICE_OTHER
    return str(payload.get("type") or "")


def location_ref_of(payload: dict) -> str:
    if payload.get("altType") == "location" and payload.get("altId"):
        return str(payload["altId"])
    return str(payload.get("locationId") or "")


def _parse_timestamp(value) -> datetime:
    """GHL's `timestamp`: ISO 8601 with an offset, or a Unix time in seconds/milliseconds."""
    if isinstance(value, bool):
        raise ValueError("timestamp is not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    return parse_aware(str(value))


def _fresh(payload: dict, now: datetime) -> bool:
    """False for a `timestamp` older than the replay window (or as far in the future)."""
    if "timestamp" not in payload:
        return True  # invoice webhooks are not documented to carry one
    try:
        sent = _parse_timestamp(payload["timestamp"])
    except (ValueError, OverflowError, OSError):
        return False
    return abs(now - sent) <= timedelta(seconds=settings.GHL_WEBHOOK_MAX_AGE_SECONDS)


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
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return answer(400, "INVALID_JSON", "The body is not JSON.")
    if not isinstance(payload, dict):
        return answer(400, "INVALID_JSON", "The body is not a JSON object.")
    if not _fresh(payload, timezone.now()):
        return answer(401, "STALE_TIMESTAMP", "The webhook timestamp is outside the replay window.")

    event_id = str(payload.get("webhookId") or "") or "sha256:" + hashlib.sha256(body).hexdigest()
    try:
        _, created = store_event(
            provider=Provider.GHL,
            event_id=event_id,
            event_type=event_type_of(payload),
            location_ref=location_ref_of(payload),
            payload=payload,
            signature_scheme=scheme,
        )
    except DatabaseError:
        logger.exception("could not store GHL webhook %s; answering 429 so GHL retries", event_id)
        return answer(429, "TRY_AGAIN", "The event could not be stored; retry later.")
    return answer(200, "received" if created else "duplicate")
