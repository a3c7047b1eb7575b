"""Webhook intake, the one pattern for every provider: the provider's view verifies the
signature on the raw body, then calls `store_event` → the raw event is stored once under a
unique (provider, event id) → the view answers at once → a Celery task enqueued after commit
processes it (inbox.processing).
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone

from kotally.lib.envelope import json_envelope
from locations.models import Location

from .models import EventStatus, InboundEvent

logger = logging.getLogger("kotally.webhooks")


def answer(status: int, reason_code: str, message: str = "") -> JsonResponse:
    """A webhook endpoint's answer: always a small JSON envelope, never an HTML page."""
    return json_envelope(status, reason_code, message)


def enqueue(event_pk: int, countdown: float | None = None) -> None:
    """Send the processing task; a broker outage only logs, the sweeper re-enqueues later."""
    from .tasks import process_inbound_event  # the tasks module imports processing → intake

    try:
        process_inbound_event.apply_async((event_pk,), countdown=countdown)
    except Exception:  # the event is stored: never fail the delivery because of the broker
        logger.exception("could not enqueue inbound event %s; the sweeper will retry", event_pk)


def store_event(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    location_ref: str,
    payload: dict,
    contact_ref: str = "",
    signature_scheme: str,
    process_after: datetime | None = None,
    final: tuple[str, str] | None = None,
) -> tuple[InboundEvent | None, bool]:
    """Insert the raw event once per (provider, event id) and enqueue it after commit; with
    `final` (status, reason code) it is stored already finished and never processed.

    Returns (event, created); a duplicate delivery returns (None, False) and changes nothing.
    Raises DatabaseError when the row cannot be stored.
    """
    location = Location.objects.filter(location_id=location_ref).first() if location_ref else None
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                provider=provider,
                event_id=event_id[:255],
                event_type=event_type[:64],
                location=location,
                location_ref=location_ref[:255],
                contact_ref=contact_ref[:255],
                payload=payload,
                signature_scheme=signature_scheme,
                process_after=process_after,
                status=final[0] if final else EventStatus.RECEIVED,
                reason_code=final[1] if final else "",
                processed_at=timezone.now() if final else None,
            )
            if final is None:
                countdown = (
                    (process_after - timezone.now()).total_seconds() if process_after else None
                )
                transaction.on_commit(lambda: enqueue(event.pk, countdown))
    except IntegrityError:
        return None, False
    return event, True
