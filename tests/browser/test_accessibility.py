"""axe-core (npm, injected by Playwright) on every admin page: no serious or critical
violation. axe-core comes from NODE_PATH (.ci/run installs it beside crypto-js)."""

import os
from pathlib import Path

import pytest

from api.services import api_request_record
from entitlements.models import Source
from entitlements.services import Actor, refusal_record
from inbox.models import EventStatus, InboundEvent
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe_script() -> Path:
    for folder in filter(None, os.environ.get("NODE_PATH", "").split(os.pathsep)):
        if (script := Path(folder) / "axe-core" / "axe.min.js").exists():
            return script
    reason = "axe-core not found on NODE_PATH (npm install axe-core; set NODE_PATH)"
    if os.environ.get("KOTALLY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"KOTALLY_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


SERIOUS = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"""


@pytest.fixture
def studio(owner, package, token, viewer):
    """Something on every page: a member with credits, a refused booking, an API call."""
    from api.models import ApiClient
    from entitlements.services import Payment, credits_grant

    location = package.location
    credits_grant(
        location=location,
        contact_key="member-1",
        product_config_id=package.public_id,
        payment=Payment(external_payment_id="pay-1"),
        actor=Actor(),
        name="Ann Member",
    )
    refusal_record(
        location=location,
        contact_key="member-2",
        actor=Actor(source=Source.GHL),
        operation="deduct",
        reason_code="NO_ENTITLEMENT",
    )
    event = InboundEvent.objects.create(
        provider="ghl",
        event_id="wh_1",
        event_type="AppointmentCreate",
        location=location,
        contact_ref="member-2",
        status=EventStatus.PROCESSED,
        reason_code="NO_ENTITLEMENT",
        payload={"appointment": {"contactId": "member-2"}},
    )
    api_request_record(
        client=ApiClient.objects.get(),
        method="POST",
        path="/api/v2/entitlements/deduct",
        status=200,
        ok=False,
        reason_code="INSUFFICIENT_CREDITS",
        request_id="r1",
        contact_key="member-1",
        latency_ms=12,
    )
    member = location.contacts.get(external_id="member-1")
    return {"member": member, "event": event, "location": location, "package": package}


def _pages(studio) -> list[str]:
    member, event, location = studio["member"], studio["event"], studio["location"]
    return [
        "/dashboard/",
        "/getting-started/",
        "/locations/",
        f"/locations/{location.location_id}/remove/",
        "/api-clients/",
        "/api-clients/log/",
        "/product-configs/",
        "/product-configs/new/",
        f"/product-configs/{studio['package'].public_id}/edit/",
        "/contacts/",
        f"/contacts/{member.pk}/",
        "/events/",
        f"/events/{event.pk}/",
        "/billing/",
        "/settings/",
    ]


def _serious(page, script: Path) -> list[str]:
    page.add_script_tag(path=str(script))
    return page.evaluate(SERIOUS)


@pytest.fixture
def page(chromium, live_server):
    """The suite's page, with the CSP bypassed so axe's script can be injected."""
    context = chromium.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    yield context.new_page()
    context.close()


def test_no_serious_or_critical_axe_violation_on_any_page(page, studio):
    script = _axe_script()
    found = {}
    for path in ("/accounts/login/", "/accounts/signup/"):
        page.goto(path)
        found[path] = _serious(page, script)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")
    for path in _pages(studio):
        page.goto(path)
        found[path] = _serious(page, script)
    assert {path: v for path, v in found.items() if v} == {}
