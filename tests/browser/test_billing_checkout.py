"""An owner subscribes through Stripe Checkout in a real browser. Stripe's API is the fake at
STRIPE_API_BASE; the browser is sent to Checkout's URL, which is intercepted (the Checkout
page itself is never loaded), comes back, and sees the status once the webhook arrived."""

import json
import re

import pytest
from playwright.sync_api import expect

from accounts.models import BillingStatus
from tests import stripe_shapes as shapes
from tests.billing.conftest import SUBSCRIPTION, WEBHOOK_SECRET, event, stripe_billing  # noqa: F401
from tests.conftest import PASSWORD
from tests.fake_stripe import fake_stripe  # noqa: F401
from tests.ghl.signing import celery_eager  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHECKOUT = re.compile(r"^https://checkout\.stripe\.com/c/pay/cs_test_kotally\d+$")


def test_owner_starts_checkout_returns_and_sees_the_trial(
    page,
    live_server,
    settings,
    client,
    owner,
    workspace,
    location,
    stripe_billing,  # noqa: F811
    celery_eager,  # noqa: F811
    screenshot,
):
    workspace.billing_status = BillingStatus.NONE
    workspace.save()
    settings.KOTALLY_BASE_URL = live_server.url
    visited = []
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: (
            visited.append(route.request.url),
            route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout</h1>"),
        ),
    )

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/billing/")
    expect(page.get_by_test_id("billing-status")).to_have_text("Not started")
    page.get_by_role("button", name="Start free trial").click()
    expect(page).to_have_url(CHECKOUT)
    assert len(visited) == 1 and CHECKOUT.match(visited[0])

    # Stripe sends the customer back, then (a moment later) the webhook.
    page.goto("/billing/?checkout=done")
    expect(page.get_by_test_id("checkout-pending")).to_be_visible()
    subscription = stripe_billing.add_subscription(
        SUBSCRIPTION,
        status="trialing",
        workspace=workspace.public_id,
        trial_end=shapes.now() + 14 * 86400,
    )
    body = json.dumps(
        event("checkout.session.completed", subscription, event_id="evt_browser_checkout")
    )
    response = client.post(
        "/webhooks/stripe/billing",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=shapes.signature(body, WEBHOOK_SECRET),
    )
    assert response.status_code == 200

    page.reload()
    expect(page.get_by_test_id("billing-status")).to_have_text("Trialing")
    expect(page.get_by_text("Trial ends")).to_be_visible()
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()
    screenshot(page, "billing")
