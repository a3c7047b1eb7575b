"""GoHighLevel payloads → engine calls (SPEC §5.3). Registered with the inbox in
IntegrationsGhlConfig.ready; each handler returns an inbox `Result` and never finishes the
event itself. Shapes: docs/webhook events/*.md of GHL's docs (tests/fixtures/ghl/README.md).

- contacts: ContactCreate / ContactUpdate keep the contact's name and email current;
- purchases: InvoicePaid and completed orders become an entitlements.purchases.Purchase (one
  purchase grants once, whichever view of it arrives first). Reconciliation
  (integrations_ghl.reconcile) builds the same Purchase from GHL's list endpoints;
- refunds: InvoiceVoid takes back the unused credits of what the invoice granted.

Bookings are integrations_ghl.appointments.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q

from entitlements import services
from entitlements.models import ProductConfig, Source
from entitlements.outcomes import Outcome, Reason
from entitlements.purchases import (
    PaymentProvider,
    Purchase,
    PurchaseLine,
    purchase_refund_by_payment,
)
from entitlements.purchases import purchase_settle as _purchase_settle
from inbox.models import EventReason, EventStatus, InboundEvent
from inbox.processing import InvalidPayload, Result
from kotally.lib.timeutil import parse_aware
from locations.models import Location

# Invoice webhooks carry no `type`: intake names them by their `status`, the one field that
# tells GHL's InvoicePaid, InvoiceVoid and InvoicePartiallyPaid examples apart.
INVOICE_EVENTS = {
    "paid": "InvoicePaid",
    "void": "InvoiceVoid",
    "partially_paid": "InvoicePartiallyPaid",
}
INVOICE_OTHER = "Invoice"
# GHL documents two order statuses: `pending` (OrderCreate.md) and `completed`
# (OrderStatusUpdate.md); the webhook has no payment status. Only a completed order grants.
ORDER_PAID = "completed"


def required(mapping: dict, key: str, what: str) -> str:
    """A payload id that must be there (a non-empty string or number); else InvalidPayload."""
    value = mapping.get(key)
    if not value or not isinstance(value, str | int):
        raise InvalidPayload(f"{what} has no {key}")
    return str(value)


def payload_time(value) -> datetime | None:
    """A GHL time (ISO 8601 with an offset) as an aware UTC datetime; None when absent."""
    if not value:
        return None
    try:
        return parse_aware(str(value))
    except ValueError as exc:
        raise InvalidPayload(f"unreadable time {value!r}: {exc}") from exc


# --- contacts ---------------------------------------------------------------------------------


def _name(contact: dict) -> str:
    name = contact.get("name") or " ".join(
        part for part in (contact.get("firstName"), contact.get("lastName")) if part
    )
    return str(name or "")


def contact_upsert(event: InboundEvent) -> Result:
    """ContactCreate / ContactUpdate: keep the contact's email and name current."""
    payload = event.payload
    services.contact_upsert(
        location=event.location,
        contact_key=required(payload, "id", "contact"),
        email=str(payload.get("email") or ""),
        name=_name(payload),
    )
    return Result(EventStatus.PROCESSED, EventReason.CONTACT_SAVED)


# --- purchases --------------------------------------------------------------------------------


def to_cents(amount) -> int | None:
    """Major units (GHL sends 999 for 999.00) to integer cents; None when absent/unreadable."""
    if amount is None or isinstance(amount, bool):
        return None
    try:
        return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))
    except (InvalidOperation, ValueError):
        return None


def _configs(location: Location, product_id: str, price_id: str) -> tuple:
    """Active configs for a GHL product; a config naming a price id must match it too."""
    if not product_id:
        return ()
    price_match = Q(ghl_price_id="") | Q(ghl_price_id=price_id) if price_id else Q(ghl_price_id="")
    configs = ProductConfig.objects.filter(
        location=location, active=True, ghl_product_id=product_id
    ).filter(price_match)
    return tuple(configs.order_by("pk"))


def _quantity(value) -> int:
    try:
        quantity = int(value if value is not None else 1)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"unreadable quantity {value!r}") from exc
    if quantity < 1:
        raise InvalidPayload(f"quantity {quantity} is below 1")
    return quantity


def _line(
    location, *, external_payment_id, product_id, price_id, qty, unit_amount, currency, paid_at
) -> PurchaseLine:
    """One invoice item or order item as a purchase line (amounts arrive in major units)."""
    quantity = _quantity(qty)
    unit = to_cents(unit_amount)
    product_id = str(product_id or "")
    return PurchaseLine(
        external_payment_id=external_payment_id,
        product_ref=f"GHL product {product_id or '(none)'}",
        configs=_configs(location, product_id, str(price_id or "")),
        quantity=quantity,
        amount_cents=unit * quantity if unit is not None else None,
        currency=str(currency or "")[:3],
        paid_at=paid_at,
    )


def invoice_purchase(
    location: Location, invoice: dict, *, event_type: str, origin_event: int | None = None
) -> Purchase:
    """An invoice (webhook or GET /invoices/ item): one line per item, external payment id
    `ghl:invoice:<invoice id>:<item id>`; the contact is `contactDetails`."""
    invoice_id = required(invoice, "_id", "invoice")
    paid_at = payload_time(invoice.get("updatedAt") or invoice.get("createdAt"))
    lines = [
        _line(
            location,
            external_payment_id=f"ghl:invoice:{invoice_id}:{item.get('_id') or index}",
            product_id=item.get("productId"),
            price_id=item.get("priceId"),
            qty=item.get("qty"),
            unit_amount=item.get("amount"),
            currency=item.get("currency") or invoice.get("currency"),
            paid_at=paid_at,
        )
        for index, item in enumerate(invoice.get("invoiceItems") or [])
    ]
    return _purchase(
        location,
        invoice,
        invoice.get("contactDetails") or {},
        lines,
        event_type=event_type,
        origin_event=origin_event,
    )


def order_purchase(
    location: Location, order: dict, *, event_type: str, origin_event: int | None = None
) -> Purchase:
    """An order (webhook or GET /payments/orders/{id}): one line per item, external payment id
    `ghl:order:<order id>:<index>`; the contact is `contactId` with `contactSnapshot`."""
    order_id = required(order, "_id", "order")
    contact = dict(order.get("contactSnapshot") or {})
    contact["id"] = order.get("contactId") or contact.get("id")
    paid_at = payload_time(order.get("updatedAt") or order.get("createdAt"))
    lines = [
        _line(
            location,
            external_payment_id=f"ghl:order:{order_id}:{index}",
            product_id=(item.get("product") or {}).get("_id"),
            price_id=(item.get("price") or {}).get("_id"),
            qty=item.get("qty"),
            unit_amount=(item.get("price") or {}).get("amount"),
            currency=(item.get("price") or {}).get("currency") or order.get("currency"),
            paid_at=paid_at,
        )
        for index, item in enumerate(order.get("items") or [])
    ]
    return _purchase(
        location, order, contact, lines, event_type=event_type, origin_event=origin_event
    )


def _purchase(
    location,
    payload: dict,
    contact: dict,
    lines: list,
    *,
    event_type: str,
    origin_event: int | None,
) -> Purchase:
    return Purchase(
        location=location,
        provider=PaymentProvider.GHL,
        source=Source.GHL,
        event_type=event_type,
        contact_key=str(contact.get("id") or "")[:255] or None,
        email=str(contact.get("email") or "")[:254],
        name=_name(contact)[:255],
        is_test=payload.get("liveMode") is False,
        lines=tuple(lines),
        origin_event=origin_event,
        correlation_id=f"evt_{origin_event}" if origin_event else "",
    )


def purchase_settle(purchase: Purchase) -> str:
    """entitlements.purchases.purchase_settle; `NO_LINE_ITEMS` for a purchase without items."""
    if not purchase.lines:
        return EventReason.NO_LINE_ITEMS
    return _purchase_settle(purchase)


def _settle(purchase: Purchase) -> Result:
    reason = purchase_settle(purchase)
    if reason == EventReason.NO_LINE_ITEMS:
        return Result(EventStatus.IGNORED, reason)
    return Result(EventStatus.PROCESSED, reason)


def invoice_paid(event: InboundEvent) -> Result:
    """InvoicePaid: one grant per invoice item."""
    return _settle(
        invoice_purchase(
            event.location, event.payload, event_type=event.event_type, origin_event=event.pk
        )
    )


def order_paid(event: InboundEvent) -> Result:
    """OrderCreate / OrderStatusUpdate: one grant per item once the order is completed; a
    pending order grants nothing."""
    if event.payload.get("status") != ORDER_PAID:
        return Result(EventStatus.IGNORED, EventReason.NOT_PAID)
    return _settle(
        order_purchase(
            event.location, event.payload, event_type=event.event_type, origin_event=event.pk
        )
    )


def invoice_not_paid(event: InboundEvent) -> Result:
    """InvoicePartiallyPaid and invoices in any other status: nothing to grant."""
    return Result(EventStatus.IGNORED, EventReason.NOT_PAID)


# --- refunds and voids ------------------------------------------------------------------------


def refund_lines(
    location: Location, refunds: dict[str, int | None], *, reason: str, correlation_id: str = ""
) -> list[Outcome]:
    """Take back the unused credits of each payment id → cumulative refunded cents (None: all
    of it), from its grant or its twin's when it was a duplicate: a `revoke` ledger entry
    noting `reason` (entitlements.purchases.purchase_refund_by_payment, idempotent)."""
    actor = services.Actor(source=Source.GHL, correlation_id=correlation_id, note=reason)
    return [
        purchase_refund_by_payment(
            location=location,
            provider=PaymentProvider.GHL,
            external_payment_id=payment_id,
            actor=actor,
            refunded_cents=cents,
        )
        for payment_id, cents in refunds.items()
    ]


def invoice_void(event: InboundEvent) -> Result:
    """InvoiceVoid: GHL voids a paid invoice only after refunding its payment (apps/
    invoices.json, POST /invoices/{invoiceId}/void), so each item's grant is taken back."""
    purchase = invoice_purchase(event.location, event.payload, event_type=event.event_type)
    invoice_id = event.payload["_id"]
    outcomes = refund_lines(
        event.location,
        {line.external_payment_id: None for line in purchase.lines},
        reason=f"GHL invoice {invoice_id} voided",
        correlation_id=f"evt_{event.pk}",
    )
    if not any(outcome.ok for outcome in outcomes):
        return Result(EventStatus.IGNORED, EventReason.NOT_GRANTED)
    return Result(EventStatus.PROCESSED, Reason.REFUND_APPLIED)
