"""From the engine to a real receiver: API and GHL calls whose events reach the endpoint,
signed, with tasks run in-process after commit."""

import pytest

from entitlements.models import ContactActivity
from outbound.models import Delivery, DeliveryStatus
from tests.api.conftest import grant_body, move_body
from tests.ghl.conftest import pack  # noqa: F401 (fixture)
from tests.ghl.signing import ghl_event

pytestmark = pytest.mark.django_db
DEDUCT = "/api/v2/entitlements/deduct"


@pytest.fixture
def committed(django_capture_on_commit_callbacks, celery_eager):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_an_api_deduct_reaching_the_threshold_sends_deducted_then_low(
    api, package, endpoint, receiver, committed
):
    package.low_credits_threshold = 9
    package.save()
    endpoint(types=["credits.deducted", "credits.low"])
    api.post_json("/api/v2/grants", grant_body(package))
    with committed():
        api.post_json(DEDUCT, move_body())
    assert receiver.types() == ["credits.deducted", "credits.low"]
    assert all(r["signature_ok"] for r in receiver.requests)
    assert receiver.requests[1]["body"]["data"]["balance"] == 9
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 2


def test_sending_is_noted_on_the_members_timeline(api, package, endpoint, receiver, committed):
    endpoint(types=["credits.granted"])
    with committed():
        api.post_json("/api/v2/grants", grant_body(package))
    assert ContactActivity.objects.get().message == "sent credits.granted to 1 endpoint"


def test_a_refused_api_deduct_sends_booking_refused_once(api, endpoint, receiver, committed):
    endpoint(types=["booking.refused"])
    body = move_body(external_ref="class-7")
    with committed():
        api.post_json(DEDUCT, body)
        replay = api.post_json(DEDUCT, body)
    assert replay["Idempotent-Replayed"] == "true"
    [request] = receiver.requests
    data = request["body"]["data"]
    assert (data["reason_code"], data["contact_id"], data["source"]) == (
        "NO_ENTITLEMENT",
        "m1",
        "api",
    )
    assert data["external_ref"] == "class-7"


def test_a_refused_ghl_booking_sends_booking_refused(post_ghl, pack, endpoint, receiver):  # noqa: F811
    endpoint(types=["booking.refused"])
    booking = ghl_event("AppointmentCreate")  # Ava holds no credits
    post_ghl(booking)
    [request] = receiver.requests
    data = request["body"]["data"]
    assert (data["reason_code"], data["source"], data["calendar_id"]) == (
        "NO_ENTITLEMENT",
        "ghl",
        "cal_pack",
    )
    assert data["external_ref"] == booking["appointment"]["id"]


def test_a_refused_booking_of_a_known_member_is_on_their_timeline(
    api, package, endpoint, receiver, committed
):
    endpoint(types=["booking.refused"])
    api.post_json("/api/v2/grants", grant_body(package))
    with committed():
        api.post_json(DEDUCT, move_body(amount=20))  # INSUFFICIENT_CREDITS
    assert ContactActivity.objects.get().message == "sent booking.refused to 1 endpoint"


def test_an_unmatched_ghl_invoice_sends_payment_unmatched_once(
    post_ghl, package, endpoint, receiver
):
    endpoint(types=["payment.unmatched"])
    post_ghl(ghl_event("InvoicePaid"))  # the cast's package maps no GHL product
    post_ghl(ghl_event("InvoicePaid"))  # redelivered with another webhookId
    [request] = receiver.requests
    assert request["body"]["data"]["outcome"] == "unmatched"
