"""A workspace's Stripe subscription, from Checkout to recovery (SPEC §6.1)."""

import pytest

from accounts.models import BillingStatus, Workspace
from inbox.models import EventStatus, InboundEvent, Provider
from locations.models import Location, LocationStatus
from tests import stripe_shapes as shapes
from tests.api.conftest import POSTS, grant_body
from tests.ghl.signing import balance, ghl_event

from .conftest import SUBSCRIPTION

pytestmark = pytest.mark.django_db


def status(workspace) -> str:
    return Workspace.objects.get(pk=workspace.pk).billing_status


def write(api, config) -> str:
    return api.post_json(POSTS["grants"], grant_body(config)).json()["reason_code"]


def read(api) -> int:
    return api.get("/api/v2/contacts/m1/credits", {"location_id": "loc_main"}).status_code


def test_the_whole_lifecycle_from_checkout_to_recovery(
    login, owner, unbilled, location, stripe_billing, stripe_says, api, pack, post_ghl
):
    # Checkout: the owner is sent to Stripe; Stripe creates a trialing subscription.
    response = login(owner).post("/billing/checkout/")
    assert response.url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    stripe_billing.add_subscription(
        SUBSCRIPTION,
        status="trialing",
        workspace=unbilled.public_id,
        trial_end=shapes.now() + 14 * 86400,
    )
    stripe_says("checkout.session.completed")
    stripe_says("customer.subscription.created")
    assert status(unbilled) == BillingStatus.TRIALING
    assert Location.objects.get(pk=location.pk).status == LocationStatus.ACTIVE

    # The trial ends and the first invoice is paid.
    stripe_says("invoice.paid", status="active")
    assert status(unbilled) == BillingStatus.ACTIVE

    # A renewal fails: past due is a grace period, writes still work.
    stripe_says("invoice.payment_failed", status="past_due")
    assert status(unbilled) == BillingStatus.PAST_DUE
    assert write(api, pack) == "grant_applied"

    # Every retry failed: Stripe marks the subscription unpaid; writes stop, reads work, and
    # GHL events are held.
    stripe_says("customer.subscription.updated", status="unpaid")
    assert status(unbilled) == BillingStatus.SUSPENDED
    assert (write(api, pack), read(api)) == ("BILLING_SUSPENDED", 200)
    post_ghl(ghl_event("InvoicePaid"))
    assert InboundEvent.objects.get(provider=Provider.GHL).status == EventStatus.HELD

    # The owner pays: service resumes and the held purchase is granted.
    stripe_says("invoice.paid", status="active")
    assert status(unbilled) == BillingStatus.ACTIVE
    assert InboundEvent.objects.get(provider=Provider.GHL).status == EventStatus.PROCESSED
    assert balance(location, "ghl_contact_ava") == 10
    assert write(api, pack) == "grant_applied"


@pytest.mark.parametrize(
    ("stripe_status", "expected"),
    [
        ("trialing", BillingStatus.TRIALING),
        ("active", BillingStatus.ACTIVE),
        ("past_due", BillingStatus.PAST_DUE),
        ("unpaid", BillingStatus.SUSPENDED),
        ("paused", BillingStatus.SUSPENDED),
        ("canceled", BillingStatus.CANCELED),
        ("incomplete_expired", BillingStatus.CANCELED),
    ],
)
def test_workspace_status_follows_the_subscription_status(
    workspace, stripe_billing, stripe_says, stripe_status, expected
):
    stripe_billing.add_subscription(
        SUBSCRIPTION, status=stripe_status, workspace=workspace.public_id
    )
    stripe_says("customer.subscription.updated")
    assert status(workspace) == expected


def test_an_incomplete_subscription_changes_nothing(unbilled, stripe_billing, stripe_says):
    stripe_billing.add_subscription(SUBSCRIPTION, status="incomplete", workspace=unbilled.public_id)
    stripe_says("customer.subscription.created")
    event = InboundEvent.objects.get()
    assert status(unbilled) == BillingStatus.NONE
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "SUBSCRIPTION_INCOMPLETE")


def test_trial_end_and_next_invoice_come_from_the_subscription(
    unbilled, stripe_billing, stripe_says
):
    trial_end = shapes.now() + 14 * 86400
    stripe_billing.add_subscription(
        SUBSCRIPTION, status="trialing", workspace=unbilled.public_id, trial_end=trial_end
    )
    stripe_says("customer.subscription.created")
    workspace = Workspace.objects.get(pk=unbilled.pk)
    assert int(workspace.trial_ends_at.timestamp()) == trial_end
    assert workspace.next_invoice_at == workspace.trial_ends_at
    assert (workspace.stripe_customer_id, workspace.stripe_subscription_id) == (
        "cus_kotally_1",
        SUBSCRIPTION,
    )


def test_a_canceled_workspace_takes_up_its_new_subscription(workspace, stripe_billing, stripe_says):
    stripe_billing.add_subscription(SUBSCRIPTION, status="canceled", workspace=workspace.public_id)
    stripe_says("customer.subscription.deleted")
    stripe_billing.add_subscription("sub_again", status="active", workspace=workspace.public_id)
    stripe_says("customer.subscription.created", subscription="sub_again")
    assert Workspace.objects.get(pk=workspace.pk).stripe_subscription_id == "sub_again"
    assert status(workspace) == BillingStatus.ACTIVE


def test_a_second_live_subscription_does_not_take_over(workspace, stripe_billing, stripe_says):
    stripe_billing.add_subscription(SUBSCRIPTION, status="active", workspace=workspace.public_id)
    stripe_says("customer.subscription.created")
    stripe_billing.add_subscription("sub_double", status="past_due", workspace=workspace.public_id)
    stripe_says("customer.subscription.updated", subscription="sub_double")
    assert status(workspace) == BillingStatus.ACTIVE
    assert InboundEvent.objects.last().reason_code == "OTHER_SUBSCRIPTION"


def test_a_subscription_of_no_known_workspace_is_ignored(workspace, stripe_billing, stripe_says):
    stripe_billing.add_subscription(SUBSCRIPTION, status="active", workspace="ws_unknown")
    stripe_says("customer.subscription.created")
    assert InboundEvent.objects.get().reason_code == "UNKNOWN_WORKSPACE"


def test_a_subscription_without_metadata_is_found_by_its_id(workspace, stripe_billing, stripe_says):
    Workspace.objects.filter(pk=workspace.pk).update(stripe_subscription_id=SUBSCRIPTION)
    stripe_billing.add_subscription(SUBSCRIPTION, status="past_due", workspace=None)
    stripe_says("invoice.payment_failed")
    assert status(workspace) == BillingStatus.PAST_DUE
