from celery import shared_task

from kotally.lib.stripe_api import StripeUnavailable

from .services import billing_end_expired_trials, billing_quantity_sync


@shared_task(acks_late=True)
def end_expired_trials() -> int:
    return billing_end_expired_trials()


@shared_task(
    name="billing.sync_location_quantity",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(StripeUnavailable,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def sync_location_quantity(workspace_pk: int) -> bool:
    """The subscription's additional-location quantity follows the workspace's locations."""
    return billing_quantity_sync(workspace_pk=workspace_pk)
