"""POST /webhooks/stripe/<location id>: the merchant Stripe fallback (SPEC §6.2)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entitlements.models import Contact, PaymentEvent, PaymentOutcome
from inbox.models import EventStatus, InboundEvent, Provider
from inbox.tasks import sweep_stuck_events
from tests.factories import MembershipConfigFactory
from tests.ghl.signing import STRIPE_KEY, balance, fixture, ghl_event, stripe_header

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
SESSION = "cs_live_a1B2c3D4e5F6"


@pytest.fixture(autouse=True)
def no_delay(settings):
    settings.MERCHANT_STRIPE_DELAY_SECONDS = 0


@pytest.fixture(autouse=True)
def stripe_api(fake_stripe):
    """The merchant's Stripe API: Checkout line items; invoices without payments."""
    fake_stripe.line_items[SESSION] = fixture("stripe", "checkout.session.line_items")["data"]
    return fake_stripe


@pytest.fixture
def stripe_pack(pack):
    pack.stripe_price_id = "price_1PzPack10"
    pack.save()
    return pack


def checkout(**session) -> dict:
    payload = fixture("stripe", "checkout.session.completed")
    payload["created"] = int(timezone.now().timestamp())
    payload["data"]["object"].update(session)
    return payload


def test_paid_checkout_grants_by_stripe_price(
    post_stripe, merchant_location, stripe_pack, stripe_api
):
    response = post_stripe(checkout())
    payment = PaymentEvent.objects.get()
    assert response.status_code == 200
    assert balance(merchant_location, AVA) == 10
    assert (payment.provider, payment.external_payment_id) == (
        "stripe",
        "stripe:cs_live_a1B2c3D4e5F6:li_1PzLineItem01",
    )
    line_items = stripe_api.headers(f"/v1/checkout/sessions/{SESSION}/line_items")
    assert line_items["Authorization"] == f"Bearer {STRIPE_KEY}"


def test_invoice_without_a_known_contact_is_unmatched(post_stripe, merchant_location):
    MembershipConfigFactory(location=merchant_location, stripe_product_id="prod_Monthly")
    post_stripe(fixture("stripe", "invoice.paid"))
    payment = PaymentEvent.objects.get()
    assert (payment.outcome, payment.contact) == (PaymentOutcome.UNMATCHED, None)


def test_invoice_grants_by_price_details_to_the_contact_with_that_email(
    post_stripe, merchant_location
):
    MembershipConfigFactory(location=merchant_location, stripe_price_id="price_1PzMonthly")
    Contact.objects.create(location=merchant_location, external_id=AVA, email="AVA@example.com")
    post_stripe(fixture("stripe", "invoice.paid"))
    assert balance(merchant_location, AVA) == 4


def test_invoice_with_the_older_line_price_shape_grants(post_stripe, merchant_location):
    MembershipConfigFactory(location=merchant_location, stripe_price_id="price_old")
    payload = fixture("stripe", "invoice.paid")
    invoice = payload["data"]["object"]
    invoice["metadata"] = {"external_contact_id": "member-42"}
    invoice["lines"]["data"][0].pop("pricing")
    invoice["lines"]["data"][0]["price"] = {"id": "price_old", "product": "prod_old"}
    post_stripe(payload)
    assert balance(merchant_location, "member-42") == 4


def test_bad_signature_answers_400_and_stores_nothing(post_stripe, merchant_location):
    response = post_stripe(checkout(), header=stripe_header(b"{}"))
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_location_without_the_fallback_answers_404(post_stripe, location):
    assert post_stripe(checkout()).status_code == 404


def test_redelivered_stripe_event_is_stored_once(
    post_stripe, merchant_location, stripe_pack, stripe_api
):
    payload = checkout()
    post_stripe(payload)
    assert post_stripe(payload).json()["reason_code"] == "duplicate"
    assert InboundEvent.objects.filter(provider=Provider.STRIPE_MERCHANT).count() == 1


def ghl_invoice_of_the_checkout() -> dict:
    """GHL's InvoicePaid for the same sale as the Checkout fixture: paid now, 150.00."""
    invoice = ghl_event("InvoicePaid", updatedAt=timezone.now().isoformat())
    invoice["invoiceItems"][0]["amount"] = 150
    return invoice


def test_purchase_already_granted_through_ghl_is_suppressed(
    post_ghl, post_stripe, merchant_location, stripe_pack, stripe_api
):
    post_ghl(ghl_invoice_of_the_checkout())
    post_stripe(checkout())
    stripe_payment = PaymentEvent.objects.get(provider="stripe")
    assert balance(merchant_location, AVA) == 10
    assert stripe_payment.outcome == PaymentOutcome.DUPLICATE


def test_unpaid_checkout_is_ignored(post_stripe, merchant_location, stripe_pack):
    post_stripe(checkout(payment_status="unpaid"))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "NOT_PAID")


def test_fallback_waits_for_the_delay_then_the_sweeper_processes_it(
    post_stripe, merchant_location, stripe_pack, settings
):
    settings.MERCHANT_STRIPE_DELAY_SECONDS = 600
    post_stripe(checkout())
    event = InboundEvent.objects.get()
    assert event.status == EventStatus.RECEIVED and balance(merchant_location, AVA) == 0
    InboundEvent.objects.update(
        process_after=timezone.now() - timedelta(minutes=6),
        updated_at=timezone.now() - timedelta(minutes=20),
    )
    sweep_stuck_events()
    assert balance(merchant_location, AVA) == 10


def test_signed_body_that_is_not_an_object_answers_400_and_stores_nothing(
    post_stripe, merchant_location
):
    response = post_stripe(["not", "an", "event"])
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_one_stripe_account_feeding_two_locations_is_processed_for_each(
    post_stripe, merchant_location, stripe_location_b
):
    payload = checkout()
    first = post_stripe(payload, location_id=merchant_location.location_id)
    second = post_stripe(payload, location_id=stripe_location_b.location_id)
    assert first.json()["reason_code"] == second.json()["reason_code"] == "received"
    assert InboundEvent.objects.filter(provider=Provider.STRIPE_MERCHANT).count() == 2


@pytest.fixture
def stripe_location_b(workspace):
    from kotally.lib.crypto import encrypt
    from tests.factories import LocationFactory
    from tests.ghl.signing import STRIPE_SECRET

    return LocationFactory(
        workspace=workspace,
        location_id="loc_second",
        stripe_fallback_enabled=True,
        stripe_webhook_secret_enc=encrypt(STRIPE_SECRET),
    )


def test_ghl_invoice_arriving_after_the_fallback_granted_it_is_suppressed(
    post_ghl, post_stripe, merchant_location, stripe_pack
):
    post_stripe(checkout())
    post_ghl(ghl_invoice_of_the_checkout())
    assert balance(merchant_location, AVA) == 10
    assert PaymentEvent.objects.get(provider="ghl").outcome == PaymentOutcome.DUPLICATE


def test_one_ghl_grant_hides_only_one_stripe_purchase(
    post_ghl, post_stripe, merchant_location, stripe_pack, stripe_api
):
    post_ghl(ghl_invoice_of_the_checkout())
    post_stripe(checkout())  # the same purchase, seen through Stripe: suppressed
    stripe_api.line_items["cs_live_second"] = stripe_api.line_items[SESSION]
    second = checkout(id="cs_live_second", payment_intent="pi_second_purchase")
    second["id"] = "evt_second_purchase"
    post_stripe(second)  # a second pack bought minutes later: granted
    assert balance(merchant_location, AVA) == 20


def test_subscription_checkout_and_its_first_invoice_grant_once(
    post_stripe, merchant_location, stripe_api
):
    MembershipConfigFactory(location=merchant_location, stripe_price_id="price_1PzMonthly")
    items = stripe_api.line_items[SESSION]
    items[0].update(amount_total=4900, price={"id": "price_1PzMonthly", "product": "prod_Monthly"})
    post_stripe(
        checkout(
            mode="subscription",
            amount_total=4900,
            payment_intent=None,
            subscription="sub_1PzMonthly01",
        )
    )
    invoice = fixture("stripe", "invoice.paid")
    invoice["created"] = int(timezone.now().timestamp())
    invoice["data"]["object"]["billing_reason"] = "subscription_create"
    post_stripe(invoice)
    assert balance(merchant_location, AVA) == 4
    assert PaymentEvent.objects.filter(outcome=PaymentOutcome.DUPLICATE).count() == 1
