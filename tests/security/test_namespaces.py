"""Issue 13 item 2: API grants cannot take the integrations' payment namespaces."""

import pytest

from entitlements.models import PaymentEvent
from tests.api.conftest import POSTS, grant_body


@pytest.mark.parametrize("provider", ["ghl", "stripe", "GHL"])
def test_api_grant_with_an_integration_provider_is_400(api, package, provider):
    response = api.post_json(POSTS["grants"], grant_body(package, provider=provider))
    assert response.status_code == 400
    assert "reserved" in response.json()["errors"]["provider"][0]
    assert not PaymentEvent.objects.exists()


@pytest.mark.parametrize(
    "payment_id", ["ghl:invoice:inv_1:item_1", "stripe:cs_1:li_1", "GHL:order:o1:0"]
)
def test_api_grant_with_an_integration_payment_id_is_400(api, package, payment_id):
    response = api.post_json(POSTS["grants"], grant_body(package, external_payment_id=payment_id))
    assert response.status_code == 400
    assert "reserved" in response.json()["errors"]["external_payment_id"][0]
    assert not PaymentEvent.objects.exists()


def test_api_grant_with_its_own_provider_still_applies(api, package):
    body = grant_body(package, provider="shopify", external_payment_id="order:ghl-lookalike")
    assert api.post_json(POSTS["grants"], body).json()["reason_code"] == "grant_applied"
