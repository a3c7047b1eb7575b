"""Workspace billing status. Locations follow it: pending until service is allowed.

Billing decides; the owners of the rows write them: accounts.services stores the status,
locations.services activates pending locations, and the inbox replays held events."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import BillingStatus, Workspace
from accounts.services import workspace_billing_update
from inbox.tasks import release_held_events
from locations.services import locations_activate_pending


def billing_set_status(*, workspace: Workspace, status: str, trial_ends_at=None) -> None:
    """Record a new billing status; when service becomes allowed, pending locations go active."""
    with transaction.atomic():
        workspace_billing_update(workspace=workspace, status=status, trial_ends_at=trial_ends_at)
        if workspace.service_allowed:
            locations_activate_pending(workspace=workspace)
        if not workspace.billing_suspended:
            # Webhooks held while billing was suspended are processed, in order, after commit.
            transaction.on_commit(lambda: release_held_events.delay(workspace.pk), robust=True)


def billing_start_trial(*, workspace: Workspace, now=None) -> bool:
    """Local billing provider: a free trial of TRIAL_DAYS. Only from `none` (one trial each)."""
    if workspace.billing_status != BillingStatus.NONE:
        return False
    now = now or timezone.now()
    billing_set_status(
        workspace=workspace,
        status=BillingStatus.TRIALING,
        trial_ends_at=now + timedelta(days=settings.TRIAL_DAYS),
    )
    return True


def billing_end_expired_trials(*, now=None) -> int:
    """Suspend workspaces whose local trial ended without a subscription."""
    now = now or timezone.now()
    expired = Workspace.objects.filter(
        billing_status=BillingStatus.TRIALING, trial_ends_at__lte=now, stripe_subscription_id=""
    )
    count = 0
    for workspace in expired:
        billing_set_status(workspace=workspace, status=BillingStatus.SUSPENDED)
        count += 1
    return count
