"""InvoicePaid and OrderCreate/OrderStatusUpdate → grants through the engine (SPEC §5.3)."""

import pytest

from entitlements.models import PaymentEvent, PaymentOutcome
from inbox.models import EventStatus, InboundEvent
from tests.factories import ProductConfigFactory
from tests.ghl.signing import balance, entries, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"


def test_paid_invoice_grants_the_mapped_credits(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    payment = PaymentEvent.objects.get()
    assert balance(location, AVA) == 10
    assert (payment.external_payment_id, payment.amount_cents) == (
        "ghl:invoice:inv_6578278e879ad2646715ba9c:item_c6tZZU0rJBf30ZXx", 15000)
    assert InboundEvent.objects.get().reason_code == "grant_applied"


def test_invoice_quantity_grants_one_lot_of_quantity_times_credits(post_ghl, location, pack):
    payload = ghl_event("InvoicePaid")
    payload["invoiceItems"][0]["qty"] = 3
    post_ghl(payload)
    assert balance(location, AVA) == 30
    assert PaymentEvent.objects.get().amount_cents == 45000


def test_test_mode_invoice_is_granted_and_marked_as_test(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid", liveMode=False))
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
    ProductConfigFactory(location=location, ghl_product_id="prod_pack10",
                         ghl_price_id="price_pack10_std")
    post_ghl(ghl_event("InvoicePaid"))
    assert PaymentEvent.objects.get().outcome == PaymentOutcome.AMBIGUOUS
    assert entries(location, "grant") == 0


def test_config_naming_another_price_does_not_match(post_ghl, location, pack):
    pack.ghl_price_id = "price_pack10_sale"
    pack.save()
    post_ghl(ghl_event("InvoicePaid"))
    assert PaymentEvent.objects.get().outcome == PaymentOutcome.UNMATCHED


def test_completed_order_grants_per_item(post_ghl, location, pack):
    post_ghl(ghl_event("OrderCreate"))
    assert balance(location, AVA) == 10
    assert PaymentEvent.objects.get().external_payment_id == (
        "ghl:order:ord_65e6f6c9a8b3c1d2e3f40001:0")


def test_pending_order_is_ignored(post_ghl, location, pack):
    post_ghl(ghl_event("OrderCreate", status="pending", paymentStatus="pending"))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "NOT_PAID")
    assert balance(location, AVA) == 0


def test_order_and_invoice_of_one_purchase_grant_once(post_ghl, location, pack):
    post_ghl(ghl_event("OrderCreate"))
    post_ghl(ghl_event("InvoicePaid"))
    outcomes = dict(PaymentEvent.objects.values_list("external_payment_id", "outcome"))
    assert balance(location, AVA) == 10
    assert sorted(outcomes.values()) == [PaymentOutcome.DUPLICATE, PaymentOutcome.GRANTED]


def test_order_status_update_after_the_invoice_is_a_duplicate(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    post_ghl(ghl_event("OrderStatusUpdate"))
    assert entries(location, "grant") == 1
    assert InboundEvent.objects.order_by("pk").last().reason_code == "duplicate"


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


def test_invoice_for_an_unknown_location_is_ignored(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid", altId="loc_nowhere"))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "UNKNOWN_LOCATION")
