"""POST /webhooks/stripe/<location id>: the merchant Stripe fallback (SPEC §6.2)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entitlements.models import Contact, PaymentEvent, PaymentOutcome
from inbox.models import EventStatus, InboundEvent, Provider
from inbox.tasks import sweep_stuck_events
from tests import stripe_shapes as shapes
from tests.factories import MembershipConfigFactory, ProductConfigFactory
from tests.ghl.signing import STRIPE_KEY, balance, ghl_event, stripe_header

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
SESSION, ITEM, INTENT = "cs_test_a1B2c3D4e5F6", "li_1PzLineItem01", "pi_3PzPaymentIntent01"
PACK_PRICE, PACK_PRODUCT = "price_1PzPack10", "prod_Pack10"
MONTHLY_PRICE, MONTHLY_PRODUCT = "price_1PzMonthly", "prod_Monthly"
SUBSCRIPTION, INVOICE = "sub_1PzMonthly01", "in_1PzInvoice01"

# Every payload is built from Stripe's documented shapes (tests/stripe_shapes.py).


@pytest.fixture(autouse=True)
def no_delay(settings):
    settings.MERCHANT_STRIPE_DELAY_SECONDS = 0


def pack_item() -> dict:
    """The Checkout line of one 10-Class Pack at 150.00."""
    return shapes.checkout_item(
        ITEM, price=PACK_PRICE, product=PACK_PRODUCT, amount_total=15000, price_type="one_time"
    )


@pytest.fixture(autouse=True)
def stripe_api(fake_stripe):
    """The merchant's Stripe API: Checkout line items; invoices without payments."""
    fake_stripe.line_items[SESSION] = [pack_item()]
    return fake_stripe


@pytest.fixture
def stripe_pack(pack):
    pack.stripe_price_id = PACK_PRICE
    pack.save()
    return pack


def checkout(session_id: str = SESSION, **session) -> dict:
    """`checkout.session.completed` for Ava's paid pack (the keywords of
    shapes.checkout_session change it), created now."""
    values = {"amount_total": 15000, "payment_intent": INTENT, "metadata": {"ghl_contact_id": AVA}}
    obj = shapes.checkout_session(session_id, **{**values, **session})
    return shapes.event("checkout.session.completed", obj, event_id=f"evt_{session_id}")


def invoice_paid(reason: str = "subscription_cycle") -> dict:
    """`invoice.paid` for Ava's monthly membership (49.00), paid now; no contact metadata."""
    line = shapes.invoice_line(
        "il_1PzLine01",
        invoice=INVOICE,
        price=MONTHLY_PRICE,
        product=MONTHLY_PRODUCT,
        amount=4900,
        subscription=SUBSCRIPTION,
    )
    invoice = shapes.invoice(
        INVOICE,
        lines=[line],
        amount_paid=4900,
        billing_reason=reason,
        subscription=SUBSCRIPTION,
        customer_email="ava@example.com",
    )
    return shapes.event("invoice.paid", invoice, event_id=f"evt_{INVOICE}_{reason}")


def test_paid_checkout_grants_by_stripe_price(
    post_stripe, merchant_location, stripe_pack, stripe_api
):
    response = post_stripe(checkout())
    payment = PaymentEvent.objects.get()
    assert response.status_code == 200
    assert balance(merchant_location, AVA) == 10
    assert (payment.provider, payment.external_payment_id) == ("stripe", f"stripe:{SESSION}:{ITEM}")
    line_items = stripe_api.headers(f"/v1/checkout/sessions/{SESSION}/line_items")
    assert line_items["Authorization"] == f"Bearer {STRIPE_KEY}"


def test_invoice_without_a_known_contact_is_unmatched(post_stripe, merchant_location):
    MembershipConfigFactory(location=merchant_location, stripe_product_id=MONTHLY_PRODUCT)
    post_stripe(invoice_paid())
    payment = PaymentEvent.objects.get()
    assert (payment.outcome, payment.contact) == (PaymentOutcome.UNMATCHED, None)


def test_invoice_grants_by_price_details_to_the_contact_with_that_email(
    post_stripe, merchant_location
):
    MembershipConfigFactory(location=merchant_location, stripe_price_id=MONTHLY_PRICE)
    Contact.objects.create(location=merchant_location, external_id=AVA, email="AVA@example.com")
    post_stripe(invoice_paid())
    assert balance(merchant_location, AVA) == 4


def test_invoice_in_the_pre_basil_shape_grants_by_the_line_price(post_stripe, merchant_location):
    """An endpoint on an acacia version sends the line's price as `price` (basil moved it to
    `pricing.price_details`)."""
    ProductConfigFactory(location=merchant_location, stripe_price_id="price_old")
    line = shapes.invoice_line_acacia(
        "il_old", invoice="in_old", price="price_old", product="prod_old", amount=15000
    )
    invoice = shapes.invoice_acacia(
        "in_old", lines=[line], metadata={"external_contact_id": "member-42"}
    )
    post_stripe(
        shapes.event("invoice.paid", invoice, event_id="evt_old", api_version=shapes.ACACIA)
    )
    assert balance(merchant_location, "member-42") == 10


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
    """GHL's InvoicePaid for the same sale as `checkout()`: paid now, 150.00."""
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
    stripe_api.line_items["cs_test_second"] = stripe_api.line_items[SESSION]
    second = checkout("cs_test_second", payment_intent="pi_second_purchase")
    post_stripe(second)  # a second pack bought minutes later: granted
    assert balance(merchant_location, AVA) == 20


def test_subscription_checkout_and_its_first_invoice_grant_once(
    post_stripe, merchant_location, stripe_api
):
    MembershipConfigFactory(location=merchant_location, stripe_price_id=MONTHLY_PRICE)
    stripe_api.line_items[SESSION] = [
        shapes.checkout_item(ITEM, price=MONTHLY_PRICE, product=MONTHLY_PRODUCT, amount_total=4900)
    ]
    post_stripe(
        checkout(
            mode="subscription",
            amount_total=4900,
            payment_intent=None,
            subscription=SUBSCRIPTION,
            invoice_id=INVOICE,
        )
    )
    post_stripe(invoice_paid("subscription_create"))
    assert balance(merchant_location, AVA) == 4
    assert PaymentEvent.objects.filter(outcome=PaymentOutcome.DUPLICATE).count() == 1
