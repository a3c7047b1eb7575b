"""An owner adds a webhook endpoint in a real browser, copies its secret, and reads the
delivery log after Kotally sent an event to a real local receiver."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kotally.lib.crypto import decrypt
from outbound.models import Endpoint
from tests.conftest import PASSWORD
from tests.outbound.conftest import announce, receiver, run_due  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_adds_an_endpoint_and_sees_its_deliveries(
    page,
    owner,
    location,
    receiver,  # noqa: F811
    screenshot,
):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto("/locations/")
    page.get_by_role("link", name="Webhooks of loc_main").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("credits.low").check()
    page.get_by_label("booking.refused").check()
    screenshot(page, "webhook-new")
    page.get_by_role("button", name="Add endpoint").click()

    page.get_by_role("button", name="Copy").click()
    secret = page.evaluate("navigator.clipboard.readText()")
    assert decrypt(Endpoint.objects.get().secret_enc) == secret
    receiver.secret = secret

    announce(location, type="credits.low", balance=2, low_credits_threshold=2)
    announce(location, type="booking.refused", reason_code="INSUFFICIENT_CREDITS")
    run_due(timezone.now())
    assert [r["signature_ok"] for r in receiver.requests] == [True, True]

    page.reload()
    assert secret not in page.content()
    log = page.get_by_test_id("deliveries")
    expect(log).to_contain_text("credits.low")
    expect(log).to_contain_text("Delivered")
    screenshot(page, "webhook-endpoint")
