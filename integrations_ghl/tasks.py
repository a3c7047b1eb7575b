"""Periodic GHL reconciliation (beat entry `reconcile-ghl`): one task per connected location
and per agency installation, so one slow or failing account never holds up the others."""

from celery import shared_task

from entitlements.outcomes import BillingSuspended
from locations.models import Location

from . import reconcile
from .client import GhlError
from .models import Installation


@shared_task(name="integrations_ghl.reconcile_all", acks_late=True)
def reconcile_all() -> int:
    locations = reconcile.connected_location_pks()
    for pk in locations:
        reconcile_location.delay(pk)
    for pk in reconcile.company_installation_pks():
        sync_company_locations.delay(pk)
    return len(locations)


@shared_task(
    bind=True,
    name="integrations_ghl.reconcile_location",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def reconcile_location(self, location_pk: int) -> dict:
    location = Location.objects.select_related("workspace").filter(pk=location_pk).first()
    if location is None:
        return {}
    try:
        return reconcile.reconcile_location(location)
    except BillingSuspended:
        return {"error": "billing suspended"}
    except GhlError as exc:
        if not exc.retryable:
            return {"error": str(exc)}
        wait = getattr(exc, "retry_after", 60 * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=wait) from exc


@shared_task(name="integrations_ghl.sync_company_locations", acks_late=True, time_limit=600)
def sync_company_locations(installation_pk: int) -> dict:
    installation = Installation.objects.filter(pk=installation_pk, active=True).first()
    if installation is None:
        return {}
    try:
        return reconcile.company_sync(installation)
    except GhlError as exc:
        return {"error": str(exc)}
