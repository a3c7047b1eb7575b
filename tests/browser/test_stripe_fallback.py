"""An owner sets up the merchant Stripe fallback of a location in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "whsec_browser_0123456789"


def test_owner_saves_the_signing_secret_and_copies_the_webhook_url(page, owner, location):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto("/settings/")
    page.get_by_role("link", name="Stripe fallback of loc_main").click()
    page.get_by_label("Grant credits from this location's Stripe payments").check()
    page.get_by_label("Webhook signing secret").fill(SECRET)
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#secret-state")).to_have_text("set")
    expect(page.get_by_label("Webhook signing secret")).to_have_value("")
    assert SECRET not in page.content()
    page.get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith("/webhooks/stripe/loc_main")
