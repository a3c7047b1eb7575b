from celery import shared_task

from .services import billing_end_expired_trials


@shared_task(acks_late=True)
def end_expired_trials() -> int:
    return billing_end_expired_trials()
