"""Workspace billing status. Locations follow it: pending until service is allowed.

Billing decides; the owners of the rows write them: accounts.services stores the status,
locations.services activates pending locations, and the inbox replays held events.

Two providers set the status: the local free trial (no Stripe keys, `make run`) and Kotally's
own Stripe subscription (SPEC §6.1, docs/billing.md): Checkout starts it, the customer portal
manages it, and every billing webhook re-reads it from Stripe and applies it here."""

import hashlib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import SERVICE_ALLOWED, BillingStatus, Workspace
from accounts.services import workspace_billing_update, workspace_subscription_update
from inbox.tasks import release_held_events
from locations.models import BILLED
from locations.services import locations_activate_pending

from . import client


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


# --- Stripe (SPEC §6.1) -------------------------------------------------------------------------

# Stripe subscription status → workspace billing status. `unpaid` (every retry failed) and
# `paused` (a trial ended without a payment method) stop service; `incomplete` (the first
# payment is still being made) changes nothing. docs/billing.md has the state machine.
STRIPE_STATUS = {
    "trialing": BillingStatus.TRIALING,
    "active": BillingStatus.ACTIVE,
    "past_due": BillingStatus.PAST_DUE,
    "unpaid": BillingStatus.SUSPENDED,
    "paused": BillingStatus.SUSPENDED,
    "canceled": BillingStatus.CANCELED,
    "incomplete_expired": BillingStatus.CANCELED,
}


class Applied:
    """What applying a subscription did (billing.handlers turns it into an event result)."""

    UPDATED = "billing_updated"
    UNKNOWN_WORKSPACE = "UNKNOWN_WORKSPACE"
    OTHER_SUBSCRIPTION = "OTHER_SUBSCRIPTION"
    INCOMPLETE = "SUBSCRIPTION_INCOMPLETE"


def _epoch(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) else None


@contextmanager
def _serialized(subscription_id: str):
    """Hold a PostgreSQL session advisory lock while a subscription is read from Stripe and
    its result written, so of two workers handling one subscription the later reader also
    writes last. No transaction stays open over the network call. (SQLite: one writer.)"""
    if connection.vendor != "postgresql":
        yield
        return
    digest = hashlib.sha256(f"stripe-subscription:{subscription_id}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _workspace_of(subscription: dict, workspace_ref: str) -> Workspace | None:
    """The subscription's metadata names its workspace (set at Checkout); else the Checkout
    Session's client_reference_id; else the workspace already holding its ids."""
    ref = (subscription.get("metadata") or {}).get("workspace") or workspace_ref
    if ref:
        return Workspace.objects.filter(public_id=ref).first()
    return (
        Workspace.objects.filter(stripe_subscription_id=subscription["id"]).first()
        or Workspace.objects.filter(stripe_customer_id=subscription.get("customer") or "-")
        .order_by("pk")
        .first()
    )


def _next_invoice_at(subscription: dict, status: str) -> datetime | None:
    if subscription.get("cancel_at_period_end") or status not in SERVICE_ALLOWED:
        return None
    if status == BillingStatus.TRIALING:
        return _epoch(subscription.get("trial_end"))
    ends = [item.get("current_period_end") for item in subscription["items"]["data"]]
    return _epoch(min((end for end in ends if isinstance(end, int)), default=None))


def billing_subscription_apply(
    *, subscription: dict, workspace_ref: str = ""
) -> tuple[str, Workspace | None]:
    """Make the workspace follow its Stripe subscription as Stripe has it NOW (SPEC §6.1).
    Every billing event ends here with a freshly read subscription, so the order in which
    Stripe delivered the events never matters. A workspace follows one subscription: another
    one is taken up only once the first is canceled. Returns (`Applied` code, workspace)."""
    workspace = _workspace_of(subscription, workspace_ref)
    if workspace is None:
        return Applied.UNKNOWN_WORKSPACE, None
    linked = workspace.stripe_subscription_id
    ended = workspace.billing_status == BillingStatus.CANCELED
    if linked not in ("", subscription["id"]) and not ended:
        return Applied.OTHER_SUBSCRIPTION, workspace
    status = STRIPE_STATUS.get(subscription.get("status"))
    if status is None:
        return Applied.INCOMPLETE, workspace
    with transaction.atomic():
        workspace_subscription_update(
            workspace=workspace,
            customer_id=str(subscription.get("customer") or ""),
            subscription_id=subscription["id"],
            next_invoice_at=_next_invoice_at(subscription, status),
        )
        billing_set_status(
            workspace=workspace, status=status, trial_ends_at=_epoch(subscription.get("trial_end"))
        )
    return Applied.UPDATED, workspace


def additional_locations(workspace: Workspace) -> int:
    """Locations billed at the additional-location price: every billed one but the first."""
    return max(0, workspace.locations.filter(status__in=BILLED).count() - 1)


def _quantity_follow(workspace: Workspace, subscription: dict) -> bool:
    if STRIPE_STATUS.get(subscription.get("status")) not in SERVICE_ALLOWED:
        return False  # nothing to bill on an ended or suspended subscription
    return client.additional_quantity_set(
        subscription=subscription, quantity=additional_locations(workspace)
    )


def billing_subscription_sync(*, subscription_id: str, workspace_ref: str = "") -> str:
    """Read the subscription from Stripe and apply it (billing_subscription_apply); then
    make its additional-location quantity right, in case locations changed while no
    subscription was linked yet (e.g. while the owner was on the Checkout page)."""
    with _serialized(subscription_id):
        subscription = client.subscription_get(subscription_id)
        applied, workspace = billing_subscription_apply(
            subscription=subscription, workspace_ref=workspace_ref
        )
        if applied == Applied.UPDATED:
            _quantity_follow(workspace, subscription)
    return applied


def billing_quantity_sync(*, workspace_pk: int) -> bool:
    """Set the subscription's additional-location quantity to the workspace's billed
    locations − 1. Idempotent (reads both sides every time); returns whether Stripe changed."""
    workspace = Workspace.objects.get(pk=workspace_pk)
    subscription_id = workspace.stripe_subscription_id
    if not client.configured() or not subscription_id:
        return False
    with _serialized(subscription_id):
        return _quantity_follow(workspace, client.subscription_get(subscription_id))


def _trial(workspace: Workspace, now: datetime) -> dict:
    """A first subscription gets the free trial; a workspace still on the local trial keeps
    what is left of it (Stripe wants a trial end at least 48 hours away)."""
    if workspace.billing_status == BillingStatus.NONE:
        return {"trial_period_days": settings.TRIAL_DAYS}
    ends = workspace.trial_ends_at
    if (
        workspace.billing_status == BillingStatus.TRIALING
        and ends
        and ends - now >= timedelta(hours=48)
    ):
        return {"trial_end": int(ends.timestamp())}
    return {}


def billing_can_checkout(workspace: Workspace) -> bool:
    """Checkout starts a subscription; a workspace that has a live one manages it in the
    portal instead."""
    return not workspace.stripe_subscription_id or workspace.billing_status in (
        BillingStatus.NONE,
        BillingStatus.CANCELED,
    )


def billing_checkout_url(*, workspace: Workspace, email: str, now=None) -> str:
    """Start Stripe Checkout for the workspace's plan; returns the Checkout page's URL."""
    back = f"{settings.KOTALLY_BASE_URL}{reverse('billing')}"
    session = client.checkout_session_create(
        workspace_ref=workspace.public_id,
        customer=workspace.stripe_customer_id,
        email=email,
        additional_locations=additional_locations(workspace),
        trial=_trial(workspace, now or timezone.now()),
        success_url=f"{back}?checkout=done",
        cancel_url=f"{back}?checkout=canceled",
    )
    return session["url"]


def billing_portal_url(*, workspace: Workspace) -> str:
    """Stripe's customer portal for the workspace (card, invoices, cancel)."""
    session = client.portal_session_create(
        customer=workspace.stripe_customer_id,
        return_url=f"{settings.KOTALLY_BASE_URL}{reverse('billing')}",
    )
    return session["url"]
