"""InvoiceVoid takes back the unused credits of what the invoice granted (SPEC §5.3): a revoke
with the reason, used credits reported and never driven negative, the payment `refunded`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entitlements.models import LedgerEntry, LedgerKind, PaymentEvent, PaymentOutcome
from inbox.models import EventStatus, InboundEvent
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
INVOICE = "inv_6578278e879ad2646715ba9c"


def book(post_ghl, appointment_id: str) -> None:
    booking = ghl_event("AppointmentCreate")
    start = timezone.now() + timedelta(days=3)
    booking["appointment"].update(id=appointment_id, startTime=start.isoformat())
    post_ghl(booking)


def last_event() -> InboundEvent:
    return InboundEvent.objects.order_by("pk").last()


def test_voided_invoice_takes_back_its_unused_credits(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    post_ghl(ghl_event("InvoiceVoid"))
    revoke = LedgerEntry.objects.get(kind=LedgerKind.REVOKE)
    assert balance(location, AVA) == 0
    assert (revoke.amount, revoke.note) == (-10, f"GHL invoice {INVOICE} voided")
    assert PaymentEvent.objects.get().outcome == PaymentOutcome.REFUNDED
    assert (last_event().status, last_event().reason_code) == (
        EventStatus.PROCESSED,
        "refund_applied",
    )


def test_void_reports_used_credits_and_never_goes_negative(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    book(post_ghl, "appt_used_1")
    book(post_ghl, "appt_used_2")
    post_ghl(ghl_event("InvoiceVoid"))
    payment = PaymentEvent.objects.get()
    assert balance(location, AVA) == 0
    assert LedgerEntry.objects.get(kind=LedgerKind.REVOKE).amount == -8
    assert payment.explanation == "refunded: 8 credits taken back, 2 already used"


def test_redelivered_void_takes_nothing_more(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    post_ghl(ghl_event("InvoiceVoid"))
    post_ghl(ghl_event("InvoiceVoid"))
    assert LedgerEntry.objects.filter(kind=LedgerKind.REVOKE).count() == 1


def test_void_of_an_invoice_that_granted_nothing_is_ignored(post_ghl, location, pack):
    post_ghl(ghl_event("InvoiceVoid"))
    assert (last_event().status, last_event().reason_code) == (EventStatus.IGNORED, "NOT_GRANTED")


def test_void_of_an_invoice_whose_order_granted_takes_back_the_order_grant(
    post_ghl, location, pack
):
    post_ghl(ghl_event("OrderStatusUpdate"))
    same_sale = {"updatedAt": "2024-04-04T16:24:31.297Z"}
    invoice = ghl_event("InvoicePaid", **same_sale)
    invoice["invoiceItems"][0]["amount"] = 17
    post_ghl(invoice)  # a duplicate of the order's grant
    void = ghl_event("InvoiceVoid", **same_sale)
    void["invoiceItems"][0]["amount"] = 17
    post_ghl(void)
    order = PaymentEvent.objects.get(external_payment_id="ghl:order:660ed43bfdf9fc05a0de7a40:0")
    assert balance(location, AVA) == 0
    assert order.outcome == PaymentOutcome.REFUNDED
