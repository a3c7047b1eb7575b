from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import IdempotencyRecord, Refusal
from .services import announce_expiring
from .services import expire_lots as expire_lots_service


@shared_task(acks_late=True)
def expire_lots() -> int:
    return expire_lots_service()


@shared_task(acks_late=True)
def announce_expiring_lots() -> int:
    return announce_expiring(days=settings.CREDITS_EXPIRING_DAYS)


@shared_task(acks_late=True)
def purge_idempotency_records() -> int:
    """Idempotency records and refusals share one retention period."""
    cutoff = timezone.now() - timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    refusals, _ = Refusal.objects.filter(created_at__lt=cutoff).delete()
    return deleted + refusals
