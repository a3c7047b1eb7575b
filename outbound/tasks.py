"""Celery tasks for outbound webhooks: thin, by id; the Delivery row holds the state, so a
task run twice attempts once (the claim in services.deliver)."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(
    name="outbound.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=30,
    time_limit=45,
)
def deliver_task(delivery_pk: int) -> bool:
    return services.deliver(delivery_pk=delivery_pk)


@shared_task(name="outbound.deliver_due", acks_late=True)
def deliver_due_task() -> int:
    """Beat: enqueue the retries that are due (and first attempts whose task was lost)."""
    pks = services.due(timezone.now())
    for pk in pks:
        deliver_task.delay(pk)
    return len(pks)
