"""The Billing page with Stripe configured: Checkout, the portal, status in words; and the local
free trial when Stripe is not configured (`make run`)."""

import pytest

from accounts.models import BillingStatus
from tests.factories import LocationFactory

from .conftest import SUBSCRIPTION

pytestmark = pytest.mark.django_db


def page(client) -> str:
    return client.get("/billing/").content.decode()


def test_checkout_starts_a_trial_subscription_for_the_workspace(
    login, owner, unbilled, location, stripe_billing
):
    response = login(owner).post("/billing/checkout/")
    sent = stripe_billing.requests("POST", "/v1/checkout/sessions")[0]
    assert response.status_code == 302 and response.url.startswith("https://checkout.stripe.com/")
    assert (sent["mode"], sent["client_reference_id"]) == ("subscription", unbilled.public_id)
    assert (
        sent["subscription_data[trial_period_days]"],
        sent["subscription_data[metadata][workspace]"],
    ) == ("14", unbilled.public_id)
    assert (sent["line_items[0][price]"], sent["customer_email"]) == ("price_base", owner.email)


def test_checkout_bills_every_location_beyond_the_first(
    login, owner, unbilled, location, stripe_billing
):
    LocationFactory(workspace=unbilled, status="pending")
    LocationFactory(workspace=unbilled, status="active")
    LocationFactory(workspace=unbilled, status="removed")
    login(owner).post("/billing/checkout/")
    sent = stripe_billing.requests("POST", "/v1/checkout/sessions")[0]
    assert (sent["line_items[1][price]"], sent["line_items[1][quantity]"]) == ("price_more", "2")


def test_checkout_sends_every_call_to_the_configured_api_base_and_version(
    login, owner, unbilled, stripe_billing
):
    from kotally.lib.stripe_api import API_VERSION

    login(owner).post("/billing/checkout/")
    headers = stripe_billing.headers("/v1/checkout/sessions")
    assert headers["Stripe-Version"] == API_VERSION
    assert headers["Authorization"] == "Bearer sk_test_kotally"


def test_a_canceled_workspace_subscribes_again_without_a_trial(
    login, owner, workspace, stripe_billing
):
    workspace.billing_status, workspace.stripe_customer_id = "canceled", "cus_kotally_1"
    workspace.stripe_subscription_id = SUBSCRIPTION
    workspace.save()
    login(owner).post("/billing/checkout/")
    sent = stripe_billing.requests("POST", "/v1/checkout/sessions")[0]
    assert sent["customer"] == "cus_kotally_1"
    assert "subscription_data[trial_period_days]" not in sent


def test_a_live_subscription_is_managed_in_the_portal_not_a_second_checkout(
    login, owner, workspace, stripe_billing
):
    workspace.stripe_subscription_id, workspace.stripe_customer_id = SUBSCRIPTION, "cus_1"
    workspace.save()
    client = login(owner)
    response = client.post("/billing/checkout/", follow=True)
    assert "already set up" in response.content.decode()
    assert (
        client.post("/billing/portal/").url == "https://billing.stripe.com/p/session/test_kotally"
    )


def test_only_owners_start_checkout_or_open_the_portal(login, admin_user, unbilled, stripe_billing):
    client = login(admin_user)
    assert client.post("/billing/checkout/").status_code == 403
    assert client.post("/billing/portal/").status_code == 403
    assert not stripe_billing.mock.calls


def test_stripe_being_down_keeps_the_owner_on_the_billing_page(
    login, owner, unbilled, stripe_billing
):
    stripe_billing.down = True
    response = login(owner).post("/billing/checkout/", follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"
    assert "Stripe could not be reached" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "words", "action"),
    [
        (BillingStatus.PAST_DUE, "Past due", "Update payment method"),
        (BillingStatus.SUSPENDED, "Suspended", "Pay now"),
        (BillingStatus.CANCELED, "Canceled", "Subscribe"),
    ],
)
def test_the_page_says_the_status_in_words_with_a_call_to_action(
    login, owner, workspace, stripe_billing, status, words, action
):
    workspace.billing_status, workspace.stripe_customer_id = status, "cus_1"
    workspace.stripe_subscription_id = SUBSCRIPTION
    workspace.save()
    html = page(login(owner))
    assert f'data-testid="billing-status">{words}<' in html
    assert f">{action}</button>" in html


def test_the_page_shows_the_next_invoice(
    login, viewer, workspace, location, stripe_billing, stripe_says
):
    stripe_billing.add_subscription(
        SUBSCRIPTION, status="active", workspace=workspace.public_id, period_end=1_893_456_000
    )  # 2030-01-01
    stripe_says("customer.subscription.updated")
    assert "Next invoice: Jan 1, 2030, about $59.00." in page(login(viewer))


def test_with_stripe_the_local_trial_is_replaced_by_checkout(
    login, owner, unbilled, stripe_billing
):
    client = login(owner)
    response = client.post("/billing/start-trial/", follow=True)
    assert "through Stripe Checkout" in response.content.decode()
    assert 'action="/billing/checkout/"' in page(client)
    assert 'action="/billing/checkout/"' in client.get("/getting-started/").content.decode()


def test_without_stripe_keys_the_local_trial_still_works(login, owner, unbilled):
    client = login(owner)
    assert 'action="/billing/checkout/"' not in page(client)
    client.post("/billing/start-trial/")
    unbilled.refresh_from_db()
    assert unbilled.billing_status == BillingStatus.TRIALING
    assert client.post("/billing/checkout/", follow=True).redirect_chain[-1][0] == "/billing/"


def form_action(response) -> list[str]:
    """The page's CSP `form-action` sources (django-csp orders directives arbitrarily)."""
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    return directives["form-action"].split()


def test_pages_posting_to_checkout_let_the_browser_follow_the_redirect_to_stripe(
    login, owner, unbilled, stripe_billing
):
    client = login(owner)
    for path in ("/billing/", "/getting-started/"):
        assert form_action(client.get(path)) == [
            "'self'",
            "https://checkout.stripe.com",
            "https://billing.stripe.com",
        ]


def test_without_stripe_the_form_action_stays_this_site_only(login, owner):
    assert form_action(login(owner).get("/billing/")) == ["'self'"]
