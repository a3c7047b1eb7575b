"""Merchant Stripe payloads → purchases (SPEC §6.2). Registered with the inbox in
IntegrationsStripeConfig.ready: a paid Checkout Session or a paid invoice becomes an
entitlements.purchases.Purchase, a refund or a dispute takes the purchase back; each handler
returns an inbox Result. Payload shapes are those of the pinned API version
(kotally.lib.stripe_api); docs/stripe.md says what reaches Kotally this way and what does not.

Contact: metadata.ghl_contact_id / external_contact_id, else the one contact of the location
with the customer's email; product configs match on Stripe price or product id.

Money rules: a line grants only for what was actually charged for it — a Checkout item's
`amount_total` (after discounts and tax), an invoice line's `amount` less its discounts plus
exclusive tax — and only when that is positive: a trial's $0 invoice, a 100%-off line and a
proration's credit line grant nothing (docs/stripe.md, docs/decisions.md).
"""

from datetime import UTC, datetime

from django.db.models import Q

from entitlements.models import Contact, ProductConfig, Source
from entitlements.outcomes import Reason
from entitlements.purchases import (
    PaymentProvider,
    Purchase,
    PurchaseLine,
    purchase_refund,
    purchase_settle,
)
from entitlements.services import Actor
from inbox.models import EventReason, EventStatus, InboundEvent, Provider
from inbox.processing import InvalidPayload, Result, requeue
from locations.models import Location

from . import client
from .secrets import location_secret

CHECKOUT_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
INVOICE_PAID = "invoice.paid"
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"


def _epoch(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int | float) else None


def _cents(value) -> int:
    return value if isinstance(value, int) else 0


def _configs(location: Location, price_id: str, product_id: str) -> tuple:
    match = Q(pk__in=[])
    if price_id:
        match |= Q(stripe_price_id=price_id)
    if product_id:
        match |= Q(stripe_product_id=product_id)
    return tuple(ProductConfig.objects.filter(match, location=location, active=True).order_by("pk"))


def _line(
    location, *, external_id, price, product, quantity, paid, currency, paid_at, intent, refs
):
    return PurchaseLine(
        external_payment_id=external_id,
        product_ref=f"Stripe price {price or '(none)'} / product {product or '(none)'}",
        configs=_configs(location, price, product),
        quantity=max(1, int(quantity or 1)),
        amount_cents=paid,
        currency=(currency or "")[:3],
        paid_at=paid_at,
        payment_intent=intent,
        twin_refs=refs,
    )


def _contact_key(location: Location, metadata: dict, email: str) -> str | None:
    """metadata.ghl_contact_id / external_contact_id, else the one contact with that email."""
    for key in ("ghl_contact_id", "external_contact_id"):
        if metadata.get(key):
            return str(metadata[key])[:255]
    if not email:
        return None
    keys = list(
        Contact.objects.filter(location=location, email__iexact=email).values_list(
            "external_id", flat=True
        )[:2]
    )
    return keys[0] if len(keys) == 1 else None


def _object(event: InboundEvent) -> dict:
    obj = (event.payload.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not obj.get("id"):
        raise InvalidPayload("no data.object with an id")
    return obj


def _refs(*, invoice: str, subscription: str) -> tuple[str, ...]:
    return tuple(
        ref
        for ref in (
            invoice and f"invoice:{invoice}",
            subscription and f"subscription:{subscription}",
        )
        if ref
    )


def _settle(event, lines, *, email, name, metadata) -> Result:
    if not lines:
        return Result(EventStatus.IGNORED, EventReason.NOTHING_PAID)
    email = str(email or "")[:254]
    reason = purchase_settle(
        Purchase(
            location=event.location,
            provider=PaymentProvider.STRIPE,
            source=Source.STRIPE,
            event_type=event.event_type,
            contact_key=_contact_key(event.location, metadata, email),
            email=email,
            name=str(name or "")[:255],
            is_test=event.payload.get("livemode") is False,
            lines=tuple(lines),
            origin_event=event.pk,
            correlation_id=f"evt_{event.pk}",
        )
    )
    _replay_early_take_backs(event.location, {line.payment_intent for line in lines} - {""})
    return Result(EventStatus.PROCESSED, reason)


def checkout_paid(event: InboundEvent) -> Result:
    """A paid Checkout Session: one grant per paid line item (read from Stripe, not in the
    event). In subscription mode the lines name the subscription and invoice, so the
    subscription's first `invoice.paid` is recognised as the same purchase."""
    session = _object(event)
    if session.get("payment_status") != "paid":
        return Result(EventStatus.IGNORED, EventReason.NOT_PAID)
    location = event.location
    key = location_secret(location, "stripe_restricted_key_enc")
    if not key:
        return Result(
            EventStatus.FAILED,
            EventReason.STRIPE_KEY_MISSING,
            "Set the restricted key in Settings to read Checkout line items.",
        )
    paid_at = _epoch(event.payload.get("created"))
    intent = str(session.get("payment_intent") or "")
    refs = _refs(
        invoice=str(session.get("invoice") or ""),
        subscription=str(session.get("subscription") or ""),
    )
    lines = []
    for item in client.checkout_line_items(api_key=key, session_id=str(session["id"])):
        paid = _cents(item.get("amount_total"))  # after discounts and taxes
        if paid <= 0:
            continue
        price = item.get("price") or {}
        lines.append(
            _line(
                location,
                external_id=f"stripe:{session['id']}:{item.get('id')}",
                price=str(price.get("id") or ""),
                product=str(price.get("product") or ""),
                quantity=item.get("quantity"),
                paid=paid,
                currency=item.get("currency") or session.get("currency"),
                paid_at=paid_at,
                intent=intent,
                refs=refs,
            )
        )
    details = session.get("customer_details") or {}
    return _settle(
        event,
        lines,
        email=details.get("email") or session.get("customer_email"),
        name=details.get("name"),
        metadata=session.get("metadata") or {},
    )


def _paid_on_line(line: dict) -> int:
    """What the customer paid for an invoice line: `amount` excludes discounts and exclusive
    tax, which the line lists apart (inclusive tax is already in `amount`)."""
    discounts = sum(_cents(d.get("amount")) for d in line.get("discount_amounts") or [])
    taxes = sum(
        _cents(t.get("amount"))
        for t in line.get("taxes") or []
        if t.get("tax_behavior") == "exclusive"
    )
    return _cents(line.get("amount")) - discounts + taxes


def invoice_paid(event: InboundEvent) -> Result:
    """A paid invoice: one grant per positive line of a mapped price/product. The payment
    intent is read from the invoice's payments (API call, with the restricted key when set)."""
    invoice = _object(event)
    # `total` is after discounts and tax; a customer credit balance may still settle it (a
    # renewal paid from a downgrade's credit grants), so `amount_paid` is not the test.
    if _cents(invoice.get("total")) <= 0:
        return Result(EventStatus.IGNORED, EventReason.NOTHING_PAID)
    paid_at = _epoch((invoice.get("status_transitions") or {}).get("paid_at")) or _epoch(
        event.payload.get("created")
    )
    key = location_secret(event.location, "stripe_restricted_key_enc")
    intent = ""
    if key:
        intent = client.invoice_payment_intent(api_key=key, invoice_id=str(invoice["id"]))
    subscription = (invoice.get("parent") or {}).get("subscription_details") or {}
    first = invoice.get("billing_reason") == "subscription_create"
    refs = _refs(
        invoice=str(invoice["id"]),
        subscription=str(subscription.get("subscription") or "") if first else "",
    )
    lines = []
    for index, line in enumerate((invoice.get("lines") or {}).get("data") or []):
        paid = _paid_on_line(line)
        if paid <= 0:  # a trial's $0 line, a 100% discount, a proration's credit line
            continue
        # API versions from 2025-03-31 put the price under pricing.price_details; older
        # ones had line.price.
        details = (line.get("pricing") or {}).get("price_details") or {}
        old_price = line.get("price") or {}
        lines.append(
            _line(
                event.location,
                external_id=f"stripe:{invoice['id']}:{line.get('id') or index}",
                price=str(details.get("price") or old_price.get("id") or ""),
                product=str(details.get("product") or old_price.get("product") or ""),
                quantity=line.get("quantity"),
                paid=paid,
                currency=line.get("currency") or invoice.get("currency"),
                paid_at=paid_at,
                intent=intent,
                refs=refs,
            )
        )
    metadata = {**(subscription.get("metadata") or {}), **(invoice.get("metadata") or {})}
    return _settle(
        event,
        lines,
        email=invoice.get("customer_email"),
        name=invoice.get("customer_name"),
        metadata=metadata,
    )


# --- refunds and disputes ---------------------------------------------------------------------


def _take_back(event: InboundEvent, intent: str, *, refunded, note: str) -> Result:
    if not intent:
        return Result(EventStatus.IGNORED, EventReason.NO_PAYMENT_INTENT)
    reason = purchase_refund(
        location=event.location,
        payment_intent=intent,
        refunded=refunded,
        actor=Actor(source=Source.STRIPE, correlation_id=f"evt_{event.pk}", note=note),
    )
    if reason == Reason.PAYMENT_NOT_GRANTED:
        # Nothing granted for it (yet): replayed if the purchase grants later.
        return Result(EventStatus.IGNORED, reason)
    return Result(EventStatus.PROCESSED, reason)


def charge_refunded(event: InboundEvent) -> Result:
    """A (partly) refunded charge: its purchase gives back the refunded share of its credits,
    by the cumulative `amount_refunded`."""
    charge = _object(event)
    amount, refunded = _cents(charge.get("amount")), _cents(charge.get("amount_refunded"))
    if amount <= 0 or refunded <= 0:
        raise InvalidPayload("a refunded charge needs a positive amount and amount_refunded")
    full = bool(charge.get("refunded")) or refunded >= amount
    note = (
        f"Stripe charge {charge['id']} refunded: {refunded} of {amount} "
        f"{str(charge.get('currency') or '').upper()}"
    )
    return _take_back(
        event,
        str(charge.get("payment_intent") or ""),
        refunded=None if full else (refunded, amount),
        note=note,
    )


def dispute_created(event: InboundEvent) -> Result:
    """A disputed charge: the disputed funds are withdrawn at once, so every unused credit of
    the purchase goes back (a won dispute does not restore them: grant by hand)."""
    dispute = _object(event)
    note = (
        f"Stripe dispute {dispute['id']} ({dispute.get('reason') or 'no reason'}) on charge "
        f"{dispute.get('charge')}"
    )
    return _take_back(event, str(dispute.get("payment_intent") or ""), refunded=None, note=note)


def _replay_early_take_backs(location: Location, intents: set[str]) -> None:
    """Refunds and disputes that found nothing granted before this purchase did are processed
    again, so the ledger does not depend on the order Stripe delivered them in."""
    if not intents:
        return
    early = InboundEvent.objects.filter(
        location=location,
        provider=Provider.STRIPE_MERCHANT,
        event_type__in=(CHARGE_REFUNDED, DISPUTE_CREATED),
        status=EventStatus.IGNORED,
        reason_code=Reason.PAYMENT_NOT_GRANTED,
        payload__data__object__payment_intent__in=list(intents),
    )
    requeue(list(early.values_list("pk", flat=True)))
