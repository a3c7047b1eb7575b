"""Kotally's own Stripe billing: Stripe configured with test keys, its API faked at
STRIPE_API_BASE (tests/fake_stripe.py), webhooks signed by stripe-python and posted through the
real URL with Celery eager."""

import json

import pytest

from accounts.models import BillingStatus
from locations.models import LocationStatus
from tests import stripe_shapes as shapes
from tests.fake_stripe import fake_stripe  # noqa: F401 (fixtures)
from tests.ghl.conftest import pack  # noqa: F401 (fixtures)
from tests.ghl.signing import celery_eager, ghl_signer, post_ghl  # noqa: F401 (fixtures)
from tests.ui.conftest import login  # noqa: F401 (fixtures)

WEBHOOK_SECRET = "whsec_test_kotally_billing"
SUBSCRIPTION = "sub_kotally_1"


@pytest.fixture
def stripe_billing(settings, fake_stripe):  # noqa: F811
    settings.STRIPE_SECRET_KEY = "sk_test_kotally"
    settings.STRIPE_BILLING_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_BASE = "price_base"
    settings.STRIPE_PRICE_ADDITIONAL_LOCATION = "price_more"
    return fake_stripe


@pytest.fixture
def unbilled(workspace, location, token):
    """The cast's workspace before any billing: `none`, its location pending (the API token
    was minted before, as it would have been under an earlier trial)."""
    workspace.billing_status, workspace.trial_ends_at = BillingStatus.NONE, None
    workspace.save()
    location.status = LocationStatus.PENDING
    location.save()
    return workspace


@pytest.fixture
def post_billing(client, celery_eager, django_capture_on_commit_callbacks):  # noqa: F811
    """post_billing(event, header=...) → the response, after the event was processed."""

    def post(event: dict, *, header: str | None = None):
        body = json.dumps(event)
        if header is None:
            header = shapes.signature(body, WEBHOOK_SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/webhooks/stripe/billing",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )

    return post


@pytest.fixture
def stripe_says(stripe_billing, post_billing):
    """stripe_says(event_type, status=...) → Stripe's subscription moves to `status`, then
    the event is delivered (its payload is the snapshot; Kotally re-reads the subscription)."""
    count = iter(range(1, 1000))

    def say(event_type: str, *, status: str | None = None, subscription=SUBSCRIPTION):
        if status is not None:
            stripe_billing.set_status(subscription, status)
        return post_billing(
            event(
                event_type,
                stripe_billing.subscriptions[subscription],
                event_id=f"evt_{next(count)}_{event_type}",
            )
        )

    return say


def event(event_type: str, subscription: dict, *, event_id: str) -> dict:
    """A billing event about `subscription`, shaped as Stripe sends `event_type`."""
    if event_type.startswith("customer.subscription."):
        obj = subscription
    elif event_type == "checkout.session.completed":
        workspace = subscription["metadata"].get("workspace")
        obj = shapes.checkout_session(
            "cs_test_kotally0",
            mode="subscription",
            payment_status="no_payment_required",
            subscription=subscription["id"],
            customer=subscription["customer"],
            client_reference_id=workspace,
        )
    else:
        paid = event_type == "invoice.paid"
        obj = shapes.invoice(
            f"in_{event_id}",
            lines=[],
            amount_paid=5900 if paid else 0,
            amount_due=5900,
            billing_reason="subscription_cycle",
            subscription=subscription["id"],
            status="paid" if paid else "open",
        )
    return shapes.event(event_type, obj, event_id=event_id)
