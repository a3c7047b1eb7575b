"""Periodic GHL token refresh (beat entry `refresh-ghl-tokens` in settings).

Lives outside `tasks.py` (webhook processing) and is loaded through CELERY_IMPORTS.
"""

from celery import shared_task

from . import installations


@shared_task(
    name="integrations_ghl.refresh_expiring_tokens", acks_late=True, reject_on_worker_lost=True
)
def refresh_expiring_tokens() -> dict[str, int]:
    """Refresh every active installation whose access token expires within the margin."""
    return installations.refresh_expiring()
