"""Billing's reactions to other apps' signals (connected in BillingConfig.ready)."""

from django.db import transaction

from . import client
from .tasks import sync_location_quantity


def sync_quantity_after_commit(sender, workspace_id: int, **kwargs) -> None:
    """A location started or stopped counting for billing: update the Stripe quantity once
    the change is committed (the task reads both sides, so repeats and reorders are harmless)."""
    if client.configured():
        transaction.on_commit(lambda: sync_location_quantity.delay(workspace_id), robust=True)
