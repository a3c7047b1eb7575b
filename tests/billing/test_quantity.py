"""The additional-location quantity follows the workspace's billed locations (SPEC §6.1):
locations.services signals the change, billing updates Stripe in a Celery task after commit."""

import pytest

from billing.client import PRORATION_BEHAVIOR
from billing.services import billing_quantity_sync
from locations.services import api_location_create, location_disconnect, location_remove
from tests.factories import LocationFactory

from .conftest import SUBSCRIPTION

pytestmark = pytest.mark.django_db
ITEMS = "/v1/subscription_items"


@pytest.fixture
def subscribed(workspace, location, stripe_billing):
    """The cast's workspace on an active subscription billing its one location."""
    workspace.stripe_subscription_id, workspace.billing_status = SUBSCRIPTION, "active"
    workspace.save()
    stripe_billing.add_subscription(SUBSCRIPTION, status="active", workspace=workspace.public_id)
    return workspace


@pytest.fixture
def on_commit(celery_eager, django_capture_on_commit_callbacks):
    """Run the after-commit work (the quantity task, eagerly) of what happens inside."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_new_active_location_raises_the_quantity(subscribed, stripe_billing, on_commit):
    with on_commit():
        api_location_create(workspace=subscribed)
    update = stripe_billing.requests("POST", f"{ITEMS}/si_more_{SUBSCRIPTION}")
    assert stripe_billing.quantity(SUBSCRIPTION) == 1
    assert update[0]["proration_behavior"] == PRORATION_BEHAVIOR == "create_prorations"


def test_removing_a_location_lowers_the_quantity(subscribed, stripe_billing, on_commit):
    second = LocationFactory(workspace=subscribed)
    billing_quantity_sync(workspace_pk=subscribed.pk)
    with on_commit():
        location_remove(location=second)
    assert stripe_billing.quantity(SUBSCRIPTION) == 0


def test_a_disconnected_location_stops_counting(subscribed, stripe_billing, on_commit):
    second = LocationFactory(workspace=subscribed)
    billing_quantity_sync(workspace_pk=subscribed.pk)
    with on_commit():
        location_disconnect(location=second)
    assert stripe_billing.quantity(SUBSCRIPTION) == 0


def test_the_item_is_added_when_the_subscription_has_none(
    workspace, location, stripe_billing, on_commit
):
    workspace.stripe_subscription_id, workspace.billing_status = SUBSCRIPTION, "trialing"
    workspace.save()
    stripe_billing.add_subscription(
        SUBSCRIPTION, status="trialing", workspace=workspace.public_id, additional=None
    )
    with on_commit():
        api_location_create(workspace=workspace)
    created = stripe_billing.requests("POST", ITEMS)
    assert (created[0]["price"], created[0]["quantity"]) == ("price_more", "1")


def test_the_sync_is_idempotent(subscribed, stripe_billing):
    LocationFactory(workspace=subscribed)
    assert billing_quantity_sync(workspace_pk=subscribed.pk) is True
    assert billing_quantity_sync(workspace_pk=subscribed.pk) is False
    assert len(stripe_billing.requests("POST", f"{ITEMS}/si_more_{SUBSCRIPTION}")) == 1


def test_a_workspace_without_a_subscription_calls_no_one(workspace, stripe_billing, on_commit):
    with on_commit():
        api_location_create(workspace=workspace)
    assert not stripe_billing.mock.calls


def test_a_canceled_subscription_is_left_alone(subscribed, stripe_billing):
    stripe_billing.set_status(SUBSCRIPTION, "canceled")
    LocationFactory(workspace=subscribed)
    assert billing_quantity_sync(workspace_pk=subscribed.pk) is False


def test_a_location_added_during_checkout_is_billed_when_the_subscription_links(
    unbilled, stripe_billing, stripe_says
):
    stripe_billing.add_subscription(SUBSCRIPTION, status="trialing", workspace=unbilled.public_id)
    LocationFactory(workspace=unbilled, status="pending")  # added while on the Checkout page
    stripe_says("checkout.session.completed")
    assert stripe_billing.quantity(SUBSCRIPTION) == 1
