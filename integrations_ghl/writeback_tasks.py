"""The write-back's Celery task (loaded through CELERY_IMPORTS, like token_tasks)."""

from celery import shared_task
from django.core.cache import cache

from . import writeback
from .client import GhlError, GhlRateLimited
from .models import ContactSync

MAX_RETRIES = 8


@shared_task(
    bind=True,
    name="integrations_ghl.sync_contact",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=60,
    time_limit=90,
)
def sync_contact(self, sync_pk: int) -> None:
    # One sync per contact at a time, so a slow, older sync never writes over a newer one.
    lock = f"ghl:writeback:{sync_pk}"
    if not cache.add(lock, 1, timeout=120):
        raise self.retry(countdown=10)
    try:
        writeback.sync(sync_pk=sync_pk)
    except GhlError as exc:
        ContactSync.objects.filter(pk=sync_pk).update(last_error=str(exc)[:500])
        if isinstance(exc, GhlRateLimited):
            raise self.retry(exc=exc, countdown=exc.retry_after) from exc
        if exc.retryable:
            raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
    finally:
        cache.delete(lock)
