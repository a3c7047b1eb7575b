"""Celery tasks for inbound events: thin wrappers that take ids and call inbox.processing.

Delivery is at-least-once (acks_late, reject_on_worker_lost, the sweeper); processing is
exactly-once because the state lives on the InboundEvent row.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import processing

logger = logging.getLogger("kotally.events")

MAX_RETRIES = 6


@shared_task(
    bind=True,
    name="inbox.process_inbound_event",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=60,
    time_limit=90,
)
def process_inbound_event(self, event_pk: int) -> None:
    try:
        wait = processing.process(event_pk)
    except Exception as exc:
        if not processing.is_transient(exc):
            raise
        # 5 s, 10 s, 20 s ... capped at 5 minutes; after the last one the sweeper takes over.
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
    if wait and not self.request.is_eager:
        # Not due yet (merchant Stripe delay) and run early, e.g. by the sweeper: come back.
        process_inbound_event.apply_async((event_pk,), countdown=wait)


@shared_task(name="inbox.sweep_stuck_events", acks_late=True)
def sweep_stuck_events() -> int:
    """Re-enqueue events stuck in received/processing (lost message, killed worker)."""
    pks = processing.sweep_stuck(
        stale_after=timedelta(seconds=settings.INBOUND_EVENT_STUCK_SECONDS)
    )
    for pk in pks:
        process_inbound_event.delay(pk)
    if pks:
        logger.warning("re-enqueued %d stuck inbound events", len(pks))
    return len(pks)


@shared_task(name="inbox.release_held_events", acks_late=True, time_limit=600)
def release_held_events(
    workspace_pk: int | None = None, location_ref: str = "", pks: list[int] | None = None
) -> int:
    """Process held events in order: those a billing recovery, a newly linked location or an
    integration released (see processing.release_held)."""
    return processing.release_held(workspace_pk=workspace_pk, location_ref=location_ref, pks=pks)
