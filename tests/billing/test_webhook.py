"""POST /webhooks/stripe/billing: verified by stripe-python, stored once, processed in Celery."""

import json

import pytest

from billing.services import billing_subscription_sync
from inbox.models import EventStatus, InboundEvent, Provider
from inbox.processing import is_transient
from kotally.lib.stripe_api import StripeUnavailable
from tests import stripe_shapes as shapes

from .conftest import SUBSCRIPTION, WEBHOOK_SECRET, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(workspace, stripe_billing):
    subscription = stripe_billing.add_subscription(
        SUBSCRIPTION, status="active", workspace=workspace.public_id
    )
    return event("customer.subscription.created", subscription, event_id="evt_created")


def test_a_verified_event_is_stored_under_billing_and_processed(post_billing, created):
    response = post_billing(created)
    stored = InboundEvent.objects.get()
    assert response.status_code == 200 and response.json()["reason_code"] == "received"
    assert (stored.provider, stored.event_id, stored.location) == (
        Provider.STRIPE_BILLING,
        "evt_created",
        None,
    )
    assert (stored.status, stored.reason_code) == (EventStatus.PROCESSED, "billing_updated")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=1,v1=0000",
        shapes.signature(json.dumps({"id": "evt_other"}), WEBHOOK_SECRET),
        shapes.signature("{}", "whsec_someone_else"),
    ],
    ids=["missing", "malformed", "other body", "other secret"],
)
def test_a_bad_signature_answers_400_and_stores_nothing(post_billing, created, header):
    response = post_billing(created, header=header)
    assert (response.status_code, response.json()["reason_code"]) == (400, "INVALID_SIGNATURE")
    assert not InboundEvent.objects.exists()


def test_a_stale_signature_answers_400_and_stores_nothing(post_billing, created):
    stale = shapes.signature(json.dumps(created), WEBHOOK_SECRET, timestamp=shapes.now() - 600)
    assert post_billing(created, header=stale).status_code == 400
    assert not InboundEvent.objects.exists()


def test_a_redelivery_is_stored_once(post_billing, created):
    post_billing(created)
    assert post_billing(created).json()["reason_code"] == "duplicate"
    assert InboundEvent.objects.count() == 1


def test_without_a_signing_secret_the_endpoint_answers_404(client, created, settings):
    settings.STRIPE_BILLING_WEBHOOK_SECRET = ""
    response = client.post(
        "/webhooks/stripe/billing", data=json.dumps(created), content_type="application/json"
    )
    assert response.status_code == 404


def test_billing_events_are_never_held(post_billing, created, workspace):
    workspace.billing_status = "suspended"
    workspace.save()
    post_billing(created)
    assert InboundEvent.objects.get().status == EventStatus.PROCESSED


def test_a_payment_mode_checkout_is_about_no_subscription(post_billing, stripe_billing):
    session = shapes.checkout_session("cs_test_pay", mode="payment")
    post_billing(shapes.event("checkout.session.completed", session, event_id="evt_pay"))
    assert InboundEvent.objects.get().reason_code == "NO_SUBSCRIPTION"


def test_stripe_being_down_is_a_transient_error_the_inbox_retries(workspace, stripe_billing):
    stripe_billing.down = True
    with pytest.raises(StripeUnavailable) as raised:
        billing_subscription_sync(subscription_id=SUBSCRIPTION)
    assert is_transient(raised.value)
