from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import ApiRequest


@shared_task(acks_late=True)
def purge_api_requests() -> int:
    """The request log keeps what the idempotency records keep: IDEMPOTENCY_RETENTION_DAYS."""
    cutoff = timezone.now() - timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    deleted, _ = ApiRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
