"""A new agency admin, end to end in a real browser, with the machine API in the middle."""

import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Membership, Role, User
from entitlements.models import Contact
from entitlements.services import Actor, Payment, credits_grant
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EMAIL, NEW_PASSWORD = "founder@studio.test", "a-long-unusual-passphrase"


def _sign_up(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Your email").fill(EMAIL)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_label("Workspace name").fill("Harbor Yoga")
    page.get_by_role("button", name="Create workspace").click()
    expect(page).to_have_url(re.compile("/getting-started/$"))


def _create_client(page):
    page.get_by_label(re.compile("^Name")).fill("Booking app")
    page.get_by_role("radio", name=re.compile("Full access")).check()
    page.get_by_role("button", name="Create client").click()
    return page.locator("#one-time-token").inner_text().strip()


def _create_package(page):
    page.goto("/product-configs/new/")
    page.get_by_label(re.compile("^Name")).fill("10-Class Pack")
    page.get_by_label("Kind").select_option("package")
    page.get_by_label("Credits in the package").fill("10")
    page.get_by_label("Calendars (service family)").fill("cal_group")
    page.get_by_role("button", name="Create config").click()
    expect(page.get_by_text("Product config “10-Class Pack” created.")).to_be_visible()
    return page.locator("code.muted").first.inner_text().strip()


def _api(live_server, token, path, body):
    response = requests.post(
        f"{live_server.url}/api/v2/{path}",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()


def test_new_admin_goes_from_sign_up_to_a_contact_with_credits(page, live_server, screenshot):
    _sign_up(page)
    page.get_by_role("button", name="Use the Kotally API").click()
    expect(page.get_by_text("needs billing first")).to_be_visible()

    page.get_by_role("button", name="Start free trial").click()
    expect(page.get_by_text("free trial has started")).to_be_visible()
    screenshot(page, "getting-started")
    page.get_by_role("button", name="Use the Kotally API").click()
    expect(page).to_have_url(re.compile("/api-clients/$"))
    location_id = page.locator("ul li code").first.inner_text()

    token = _create_client(page)
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    screenshot(page, "api-clients-token")
    page.reload()
    assert token.startswith("ktly_") and token not in page.content()

    config_id = _create_package(page)
    screenshot(page, "product-configs")
    common = {"location_id": location_id, "external_contact_id": "member-7"}
    grant = _api(
        live_server,
        token,
        "grants",
        {
            **common,
            "request_id": str(uuid.uuid4()),
            "external_payment_id": "pay-7",
            "product_config_id": config_id,
            "email": "mia@example.com",
            "name": "Mia Park",
        },
    )
    deduct = _api(
        live_server,
        token,
        "entitlements/deduct",
        {**common, "request_id": str(uuid.uuid4()), "calendar_id": "cal_group"},
    )
    assert (grant["reason_code"], deduct["reason_code"]) == ("grant_applied", "deducted")

    page.goto("/contacts/?q=mia")
    page.get_by_role("link", name="member-7").click()
    expect(page.get_by_test_id("credits-total")).to_have_text("9")
    expect(page.get_by_test_id("ledger").locator("tbody tr")).to_have_count(2)
    screenshot(page, "contact")


def test_viewer_sees_no_adjustment_form_and_is_refused_posting_it(page, workspace, member_contact):
    viewer = User.objects.create_user(email="watcher@studio.test", password=PASSWORD)
    Membership.objects.create(user=viewer, workspace=workspace, role=Role.VIEWER)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(viewer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"/contacts/{member_contact.pk}/")
    expect(page.get_by_test_id("credits-total")).to_have_text("10")
    expect(page.locator("#adjust-form")).to_have_count(0)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/contacts/{member_contact.pk}/adjust/",
        form={
            "csrfmiddlewaretoken": csrf,
            "action": "revoke",
            "note": "sneaky",
            "entitlement": member_contact.entitlements.get().public_id,
        },
    )
    assert response.status == 403


@pytest.fixture
def member_contact(package):
    credits_grant(
        location=package.location,
        contact_key="member-1",
        product_config_id=package.public_id,
        payment=Payment(external_payment_id="p-1"),
        actor=Actor(),
    )
    return Contact.objects.get(external_id="member-1")
