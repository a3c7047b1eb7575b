"""InvoicePaid and OrderCreate/OrderStatusUpdate → grants through the engine (SPEC §5.3), on
GHL's documented payloads (tests/fixtures/ghl/README.md)."""

import pytest

from entitlements.models import PaymentEvent, PaymentOutcome
from inbox.models import EventStatus, InboundEvent
from tests.factories import ProductConfigFactory
from tests.ghl.signing import balance, entries, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
INVOICE_LINE = "ghl:invoice:inv_6578278e879ad2646715ba9c:item_c6tZZU0rJBf30ZXx9Gli"
ORDER = "660ed43bfdf9fc05a0de7a40"


def test_paid_invoice_grants_the_mapped_credits(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    payment = PaymentEvent.objects.get()
    assert balance(location, AVA) == 10
    assert (payment.external_payment_id, payment.amount_cents) == (INVOICE_LINE, 99900)
    assert InboundEvent.objects.get().reason_code == "grant_applied"


def test_invoice_quantity_grants_one_lot_of_quantity_times_credits(post_ghl, location, pack):
    payload = ghl_event("InvoicePaid")
    payload["invoiceItems"][0]["qty"] = 3
    post_ghl(payload)
    assert balance(location, AVA) == 30
    assert PaymentEvent.objects.get().amount_cents == 299700


def test_test_mode_invoice_is_granted_and_marked_as_test(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))  # GHL's example is liveMode: false
    assert balance(location, AVA) == 10
    assert PaymentEvent.objects.get().is_test is True


def test_unmapped_product_is_kept_as_an_unmatched_payment(post_ghl, location, package):
    post_ghl(ghl_event("InvoicePaid"))
    payment = PaymentEvent.objects.get()
    assert payment.outcome == PaymentOutcome.UNMATCHED
    assert payment.explanation == "no active product config for GHL product prod_pack10"
    assert balance(location, AVA) == 0
    assert InboundEvent.objects.get().reason_code == "unmatched"


def test_two_active_mappings_make_the_payment_ambiguous(post_ghl, location, pack):
    ProductConfigFactory(
        location=location, ghl_product_id="prod_pack10", ghl_price_id="price_pack10_std"
    )
    post_ghl(ghl_event("InvoicePaid"))
    assert PaymentEvent.objects.get().outcome == PaymentOutcome.AMBIGUOUS
    assert entries(location, "grant") == 0


def test_config_naming_another_price_does_not_match(post_ghl, location, pack):
    pack.ghl_price_id = "price_pack10_sale"
    pack.save()
    post_ghl(ghl_event("InvoicePaid"))
    assert PaymentEvent.objects.get().outcome == PaymentOutcome.UNMATCHED


@pytest.mark.parametrize("name", ["InvoicePartiallyPaid", "InvoiceVoid"])
def test_invoice_that_is_not_paid_grants_nothing(post_ghl, location, pack, name):
    post_ghl(ghl_event(name))
    event = InboundEvent.objects.get()
    assert event.event_type == name
    assert balance(location, AVA) == 0


def test_pending_order_grants_nothing(post_ghl, location, pack):
    post_ghl(ghl_event("OrderCreate"))  # GHL's example: status pending, no payment status
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "NOT_PAID")
    assert not PaymentEvent.objects.exists()


def test_completed_order_grants_its_mapped_item(post_ghl, location, pack):
    post_ghl(ghl_event("OrderStatusUpdate"))  # GHL's example: the same order, completed
    outcomes = dict(PaymentEvent.objects.values_list("external_payment_id", "outcome"))
    assert balance(location, AVA) == 10
    assert outcomes == {
        f"ghl:order:{ORDER}:0": PaymentOutcome.GRANTED,
        f"ghl:order:{ORDER}:1": PaymentOutcome.UNMATCHED,
    }


def test_order_created_pending_then_completed_grants_once(post_ghl, location, pack):
    post_ghl(ghl_event("OrderCreate"))
    post_ghl(ghl_event("OrderStatusUpdate"))
    post_ghl(ghl_event("OrderStatusUpdate"))  # redelivered
    assert entries(location, "grant") == 1


def _same_sale_as_the_order(**fields) -> dict:
    """The invoice of the order's first item: same contact, product, amount and time."""
    invoice = ghl_event("InvoicePaid", updatedAt="2024-04-04T16:24:31.297Z", **fields)
    invoice["invoiceItems"][0]["amount"] = 17
    return invoice


def test_order_and_invoice_of_one_purchase_grant_once(post_ghl, location, pack):
    post_ghl(ghl_event("OrderStatusUpdate"))
    post_ghl(_same_sale_as_the_order())
    invoice = PaymentEvent.objects.get(external_payment_id=INVOICE_LINE)
    assert balance(location, AVA) == 10
    assert invoice.outcome == PaymentOutcome.DUPLICATE


def test_order_completed_after_its_invoice_is_a_duplicate(post_ghl, location, pack):
    post_ghl(_same_sale_as_the_order())
    post_ghl(ghl_event("OrderStatusUpdate"))
    assert entries(location, "grant") == 1
    assert PaymentEvent.objects.get(external_payment_id=f"ghl:order:{ORDER}:0").outcome == (
        PaymentOutcome.DUPLICATE
    )


def test_two_invoices_for_the_same_pack_both_grant(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    post_ghl(ghl_event("InvoicePaid", _id="inv_second"))
    assert balance(location, AVA) == 20


def test_purchase_for_an_inactive_location_fails_for_a_later_retry(post_ghl, location, pack):
    location.status = "pending"
    location.save()
    post_ghl(ghl_event("InvoicePaid"))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.FAILED, "LOCATION_INACTIVE")
    assert not PaymentEvent.objects.exists()
