"""The merchant Stripe fallback is right about money (issue 10, cases 1-5). Every payload is
built from Stripe's documented shapes (tests/stripe_shapes.py) and posted, signed, through the
real endpoint; Stripe's API is the fake at STRIPE_API_BASE (tests/fake_stripe.py)."""

import pytest
from django.utils import timezone

from entitlements.models import Contact, LedgerEntry, LedgerKind, PaymentEvent, PaymentOutcome
from entitlements.services import Actor, credits_deduct
from inbox.models import EventStatus, InboundEvent
from kotally.lib.stripe_api import API_VERSION
from tests import stripe_shapes as shapes
from tests.factories import MembershipConfigFactory, ProductConfigFactory
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
MONTHLY, PRO, PACK = "price_monthly", "price_pro", "price_pack10"


@pytest.fixture(autouse=True)
def no_delay(settings):
    settings.MERCHANT_STRIPE_DELAY_SECONDS = 0


@pytest.fixture
def ava(merchant_location):
    return Contact.objects.create(
        location=merchant_location, external_id=AVA, email="ava@example.com"
    )


@pytest.fixture
def monthly(merchant_location):
    return MembershipConfigFactory(
        location=merchant_location, name="Monthly", stripe_price_id=MONTHLY, monthly_credits=4
    )


@pytest.fixture
def pro(merchant_location):
    return MembershipConfigFactory(
        location=merchant_location, name="Pro", stripe_price_id=PRO, monthly_credits=8
    )


@pytest.fixture
def pack10(merchant_location):
    return ProductConfigFactory(
        location=merchant_location,
        name="10-Class Pack",
        stripe_price_id=PACK,
        ghl_product_id="prod_pack10",
    )


def invoice_paid(
    invoice_id,
    lines,
    *,
    amount_paid,
    reason="subscription_cycle",
    subscription="sub_ava",
    event_id=None,
):
    invoice = shapes.invoice(
        invoice_id,
        lines=lines,
        amount_paid=amount_paid,
        billing_reason=reason,
        subscription=subscription,
        customer_email="ava@example.com",
    )
    return shapes.event("invoice.paid", invoice, event_id=event_id or f"evt_{invoice_id}")


def line(line_id, price, amount, **extra):
    invoice = extra.pop("invoice", "in_x")
    return shapes.invoice_line(
        line_id,
        invoice=invoice,
        price=price,
        product=f"prod_{price}",
        amount=amount,
        subscription="sub_ava",
        **extra,
    )


def checkout_completed(session_id, items, fake_stripe, **session):
    fake_stripe.line_items[session_id] = items
    obj = shapes.checkout_session(session_id, metadata={"ghl_contact_id": AVA}, **session)
    return shapes.event("checkout.session.completed", obj, event_id=f"evt_{session_id}")


def granted(location) -> int:
    return PaymentEvent.objects.filter(location=location, outcome=PaymentOutcome.GRANTED).count()


# --- 1. a trial's $0 invoice, and 100% coupons ---------------------------------------------------


def test_a_trials_zero_invoice_grants_nothing(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    post_stripe(
        invoice_paid(
            "in_trial", [line("il_trial", MONTHLY, 0)], amount_paid=0, reason="subscription_create"
        )
    )
    event = InboundEvent.objects.get()
    assert balance(merchant_location, AVA) == 0
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "NOTHING_PAID")


def test_a_100_percent_coupon_grants_nothing(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    free = line("il_free", MONTHLY, 4900, discounts=(4900,))
    post_stripe(invoice_paid("in_free", [free], amount_paid=0))
    assert balance(merchant_location, AVA) == 0


def test_a_partly_discounted_line_grants_and_records_what_was_paid(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    post_stripe(
        invoice_paid(
            "in_half", [line("il_half", MONTHLY, 4900, discounts=(2450,))], amount_paid=2450
        )
    )
    assert balance(merchant_location, AVA) == 4
    assert PaymentEvent.objects.get().amount_cents == 2450


def test_a_renewal_settled_from_the_credit_balance_grants(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    invoice = shapes.invoice(
        "in_credit",
        lines=[line("il_credit", MONTHLY, 4900)],
        amount_paid=0,
        amount_due=0,
        total=4900,
        billing_reason="subscription_cycle",
        subscription="sub_ava",
        customer_email="ava@example.com",
    )
    post_stripe(shapes.event("invoice.paid", invoice, event_id="evt_credit"))
    assert balance(merchant_location, AVA) == 4


# --- 2. negative proration lines ----------------------------------------------------------------


def test_an_upgrade_invoice_grants_the_new_price_and_ignores_the_credit_line(
    post_stripe, merchant_location, ava, monthly, pro, fake_stripe
):
    lines = [
        line("il_unused", MONTHLY, -2450, proration=True),
        line("il_remaining", PRO, 4950, proration=True),
    ]
    post_stripe(invoice_paid("in_upgrade", lines, amount_paid=2500, reason="subscription_update"))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.PROCESSED, "grant_applied")
    assert balance(merchant_location, AVA) == 8
    assert PaymentEvent.objects.get().external_payment_id == "stripe:in_upgrade:il_remaining"


# --- 3. Checkout ↔ invoice twins are matched by ids, not by amount -----------------------------


def test_subscription_checkout_with_tax_and_its_first_invoice_grant_once(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    # Checkout's amount_total includes the 10 % exclusive tax; the invoice line's amount doesn't.
    item = shapes.checkout_item(
        "li_monthly", price=MONTHLY, product="prod_monthly", amount_total=5390, amount_subtotal=4900
    )
    post_stripe(
        checkout_completed(
            "cs_tax",
            [item],
            fake_stripe,
            mode="subscription",
            amount_total=5390,
            subscription="sub_ava",
            invoice_id="in_first",
        )
    )
    taxed = line(
        "il_first",
        MONTHLY,
        4900,
        invoice="in_first",
        taxes=({"amount": 490, "taxable_amount": 4900},),
    )
    post_stripe(invoice_paid("in_first", [taxed], amount_paid=5390, reason="subscription_create"))
    assert balance(merchant_location, AVA) == 4
    assert PaymentEvent.objects.filter(outcome=PaymentOutcome.DUPLICATE).count() == 1


def test_subscription_checkout_with_a_coupon_and_its_first_invoice_grant_once(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    item = shapes.checkout_item(
        "li_monthly", price=MONTHLY, product="prod_monthly", amount_total=3920, amount_subtotal=4900
    )
    post_stripe(
        checkout_completed(
            "cs_coupon",
            [item],
            fake_stripe,
            mode="subscription",
            amount_total=3920,
            subscription="sub_ava",
        )
    )
    discounted = line("il_first", MONTHLY, 4900, discounts=(980,))
    post_stripe(
        invoice_paid("in_first", [discounted], amount_paid=3920, reason="subscription_create")
    )
    assert balance(merchant_location, AVA) == 4


def test_another_subscriptions_invoice_at_the_same_amount_is_not_a_twin(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    item = shapes.checkout_item(
        "li_monthly", price=MONTHLY, product="prod_monthly", amount_total=4900
    )
    post_stripe(
        checkout_completed(
            "cs_first",
            [item],
            fake_stripe,
            mode="subscription",
            amount_total=4900,
            subscription="sub_ava",
        )
    )
    other = shapes.invoice_line(
        "il_other",
        invoice="in_other",
        price=MONTHLY,
        product="prod_monthly",
        amount=4900,
        subscription="sub_other",
    )
    post_stripe(
        invoice_paid(
            "in_other",
            [other],
            amount_paid=4900,
            reason="subscription_create",
            subscription="sub_other",
        )
    )
    assert balance(merchant_location, AVA) == 8


# --- 4. the payment intent, read the way the pinned API version delivers it --------------------


def test_invoice_payment_intent_is_read_from_invoice_payments(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    fake_stripe.invoice_payments["in_pi"] = [
        shapes.invoice_payment(
            "inpay_1", invoice_id="in_pi", payment_intent="pi_from_payments", amount_paid=4900
        )
    ]
    post_stripe(invoice_paid("in_pi", [line("il_pi", MONTHLY, 4900)], amount_paid=4900))
    payment = PaymentEvent.objects.get()
    assert payment.metadata["payment_intent"] == "pi_from_payments"
    assert fake_stripe.headers("/v1/invoice_payments")["Stripe-Version"] == API_VERSION


def ghl_invoice_of_the_sale() -> dict:
    """GHL's InvoicePaid for the same sale of the pack: paid now, 150.00. GHL documents no
    payment intent on its webhooks, so the two views match by the purchase fingerprint."""
    invoice = ghl_event("InvoicePaid", updatedAt=timezone.now().isoformat())
    invoice["invoiceItems"][0]["amount"] = 150
    invoice["contactDetails"]["email"] = "ava@example.com"  # the buyer Stripe knows
    return invoice


def test_ghl_purchase_of_the_same_sale_suppresses_the_invoice(
    post_ghl, post_stripe, merchant_location, pack10, fake_stripe
):
    fake_stripe.invoice_payments["in_pack"] = [
        shapes.invoice_payment(
            "inpay_2", invoice_id="in_pack", payment_intent="pi_shared", amount_paid=15000
        )
    ]
    post_ghl(ghl_invoice_of_the_sale())
    pack_line = shapes.invoice_line(
        "il_pack", invoice="in_pack", price=PACK, product="prod_pack10", amount=15000
    )
    post_stripe(
        invoice_paid("in_pack", [pack_line], amount_paid=15000, reason="manual", subscription=None)
    )
    assert balance(merchant_location, AVA) == 10
    assert PaymentEvent.objects.get(provider="stripe").outcome == PaymentOutcome.DUPLICATE


# --- 5. refunds and disputes ------------------------------------------------------------------


@pytest.fixture
def pack_bought(post_stripe, merchant_location, pack10, fake_stripe):
    """Ava bought the 10-class pack through Checkout (payment intent pi_pack) and used 3."""
    item = shapes.checkout_item("li_pack", price=PACK, product="prod_pack10", amount_total=15000)
    post_stripe(
        checkout_completed(
            "cs_pack", [item], fake_stripe, amount_total=15000, payment_intent="pi_pack"
        )
    )
    for n in range(3):
        credits_deduct(
            location=merchant_location,
            contact_key=AVA,
            calendar_id="cal_pack",
            actor=Actor(request_id=f"use-{n}"),
        )
    assert balance(merchant_location, AVA) == 7


def charge_event(event_type, obj, event_id):
    return shapes.event(event_type, obj, event_id=event_id)


def test_a_full_refund_takes_back_the_unused_credits(post_stripe, merchant_location, pack_bought):
    refunded = shapes.charge(
        "ch_pack", payment_intent="pi_pack", amount=15000, amount_refunded=15000
    )
    post_stripe(charge_event("charge.refunded", refunded, "evt_refund"))
    payment = PaymentEvent.objects.get()
    revoke = LedgerEntry.objects.get(kind=LedgerKind.REVOKE)
    assert balance(merchant_location, AVA) == 0
    assert payment.outcome == PaymentOutcome.REFUNDED
    assert (revoke.amount, "ch_pack" in revoke.note) == (-7, True)


def test_partial_refunds_take_back_their_share_once(post_stripe, merchant_location, pack_bought):
    half = shapes.charge("ch_pack", payment_intent="pi_pack", amount=15000, amount_refunded=7500)
    post_stripe(charge_event("charge.refunded", half, "evt_half"))
    assert balance(merchant_location, AVA) == 2
    post_stripe(charge_event("charge.refunded", half, "evt_half_again"))  # same cumulative sum
    assert balance(merchant_location, AVA) == 2


def test_a_refund_never_drives_credits_below_zero(post_stripe, merchant_location, pack_bought):
    for n in range(7):
        credits_deduct(
            location=merchant_location,
            contact_key=AVA,
            calendar_id="cal_pack",
            actor=Actor(request_id=f"more-{n}"),
        )
    refunded = shapes.charge(
        "ch_pack", payment_intent="pi_pack", amount=15000, amount_refunded=15000
    )
    post_stripe(charge_event("charge.refunded", refunded, "evt_refund"))
    assert balance(merchant_location, AVA) == 0
    assert "10 already used" in PaymentEvent.objects.get().explanation


def test_a_dispute_takes_back_the_unused_credits(post_stripe, merchant_location, pack_bought):
    disputed = shapes.dispute(
        "dp_pack", charge_id="ch_pack", payment_intent="pi_pack", amount=15000
    )
    post_stripe(charge_event("charge.dispute.created", disputed, "evt_dispute"))
    revoke = LedgerEntry.objects.get(kind=LedgerKind.REVOKE)
    assert balance(merchant_location, AVA) == 0
    assert "dispute dp_pack" in revoke.note


def test_refund_of_an_invoice_purchase_finds_it_by_the_invoices_payment_intent(
    post_stripe, merchant_location, ava, monthly, fake_stripe
):
    fake_stripe.invoice_payments["in_m"] = [
        shapes.invoice_payment(
            "inpay_3", invoice_id="in_m", payment_intent="pi_month", amount_paid=4900
        )
    ]
    post_stripe(invoice_paid("in_m", [line("il_m", MONTHLY, 4900)], amount_paid=4900))
    refunded = shapes.charge(
        "ch_month", payment_intent="pi_month", amount=4900, amount_refunded=4900
    )
    post_stripe(charge_event("charge.refunded", refunded, "evt_refund_month"))
    assert balance(merchant_location, AVA) == 0


def test_refund_of_a_purchase_ghl_granted_takes_the_credits_back_from_that_grant(
    post_ghl, post_stripe, merchant_location, pack10, fake_stripe
):
    post_ghl(ghl_invoice_of_the_sale())
    item = shapes.checkout_item("li_pack", price=PACK, product="prod_pack10", amount_total=15000)
    post_stripe(
        checkout_completed(
            "cs_pack", [item], fake_stripe, amount_total=15000, payment_intent="pi_pack"
        )
    )
    refunded = shapes.charge(
        "ch_pack", payment_intent="pi_pack", amount=15000, amount_refunded=15000
    )
    post_stripe(charge_event("charge.refunded", refunded, "evt_refund"))
    assert balance(merchant_location, AVA) == 0
    assert PaymentEvent.objects.get(provider="ghl").outcome == PaymentOutcome.REFUNDED


def test_a_refund_arriving_before_its_purchase_is_applied_once_the_purchase_grants(
    post_stripe, merchant_location, pack10, fake_stripe
):
    refunded = shapes.charge(
        "ch_pack", payment_intent="pi_pack", amount=15000, amount_refunded=15000
    )
    post_stripe(charge_event("charge.refunded", refunded, "evt_refund_early"))
    item = shapes.checkout_item("li_pack", price=PACK, product="prod_pack10", amount_total=15000)
    post_stripe(
        checkout_completed(
            "cs_pack", [item], fake_stripe, amount_total=15000, payment_intent="pi_pack"
        )
    )
    assert balance(merchant_location, AVA) == 0
