"""Stripe does not deliver events in order: the subscription's own state decides, never the
order of arrival. Each event carries an old snapshot; Kotally re-reads the subscription."""

import pytest

from accounts.models import BillingStatus, Workspace
from inbox.models import InboundEvent

from .conftest import SUBSCRIPTION, event

pytestmark = pytest.mark.django_db


def status(workspace) -> str:
    return Workspace.objects.get(pk=workspace.pk).billing_status


def late(stripe_billing, post_billing, event_type: str, *, snapshot_status: str, event_id: str):
    """Deliver an event whose payload shows the subscription as it was back then."""
    snapshot = {**stripe_billing.subscriptions[SUBSCRIPTION], "status": snapshot_status}
    return post_billing(event(event_type, snapshot, event_id=event_id))


def test_created_arriving_after_updated_does_not_undo_it(
    unbilled, stripe_billing, stripe_says, post_billing
):
    stripe_billing.add_subscription(SUBSCRIPTION, status="active", workspace=unbilled.public_id)
    stripe_says("customer.subscription.updated")
    late(
        stripe_billing,
        post_billing,
        "customer.subscription.created",
        snapshot_status="trialing",
        event_id="evt_created_late",
    )
    assert status(unbilled) == BillingStatus.ACTIVE


def test_a_late_payment_failure_does_not_suspend_a_recovered_workspace(
    workspace, stripe_billing, stripe_says, post_billing
):
    stripe_billing.add_subscription(SUBSCRIPTION, status="active", workspace=workspace.public_id)
    stripe_says("invoice.paid")
    late(
        stripe_billing,
        post_billing,
        "invoice.payment_failed",
        snapshot_status="past_due",
        event_id="evt_failed_late",
    )
    late(
        stripe_billing,
        post_billing,
        "customer.subscription.updated",
        snapshot_status="unpaid",
        event_id="evt_unpaid_late",
    )
    assert status(workspace) == BillingStatus.ACTIVE


def test_subscription_events_before_checkout_completed_still_find_the_workspace(
    unbilled, stripe_billing, stripe_says
):
    stripe_billing.add_subscription(SUBSCRIPTION, status="trialing", workspace=unbilled.public_id)
    stripe_says("customer.subscription.created")
    stripe_says("checkout.session.completed")
    assert status(unbilled) == BillingStatus.TRIALING
    assert all(e.reason_code == "billing_updated" for e in InboundEvent.objects.all())


def test_a_deletion_delivered_after_resubscribing_is_ignored(
    workspace, stripe_billing, stripe_says
):
    stripe_billing.add_subscription(SUBSCRIPTION, status="canceled", workspace=workspace.public_id)
    stripe_says("customer.subscription.deleted")
    stripe_billing.add_subscription("sub_new", status="active", workspace=workspace.public_id)
    stripe_says("customer.subscription.created", subscription="sub_new")
    stripe_says("customer.subscription.deleted")  # the old one's deletion, redelivered late
    assert status(workspace) == BillingStatus.ACTIVE
