"""Merchant Stripe payloads → purchases (SPEC §6.2). Registered with the inbox in
IntegrationsStripeConfig.ready: a paid Checkout Session or a paid invoice becomes an
entitlements.purchases.Purchase; each handler returns an inbox Result.

Contact: metadata.ghl_contact_id / external_contact_id, else the one contact of the location
with the customer's email; product configs match on Stripe price or product id.
"""

from datetime import UTC, datetime

from django.db.models import Q

from entitlements.models import Contact, ProductConfig, Source
from entitlements.purchases import PaymentProvider, Purchase, PurchaseLine, purchase_settle
from inbox.models import EventReason, EventStatus, InboundEvent
from inbox.processing import InvalidPayload, Result
from locations.models import Location

from . import client
from .secrets import location_secret

CHECKOUT_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
INVOICE_PAID = "invoice.paid"


def _epoch(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int | float) else None


def _configs(location: Location, price_id: str, product_id: str) -> tuple:
    match = Q(pk__in=[])
    if price_id:
        match |= Q(stripe_price_id=price_id)
    if product_id:
        match |= Q(stripe_product_id=product_id)
    return tuple(ProductConfig.objects.filter(match, location=location, active=True).order_by("pk"))


def _line(location, *, external_id, price, product, quantity, amount, currency, paid_at, intent):
    return PurchaseLine(
        external_payment_id=external_id,
        product_ref=f"Stripe price {price or '(none)'} / product {product or '(none)'}",
        configs=_configs(location, price, product),
        quantity=max(1, int(quantity or 1)),
        amount_cents=amount if isinstance(amount, int) else None,
        currency=(currency or "")[:3],
        paid_at=paid_at,
        payment_intent=intent,
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


def _settle(event, lines, *, email, name, metadata) -> Result:
    if not lines:
        return Result(EventStatus.IGNORED, EventReason.NO_LINE_ITEMS)
    email = str(email or "")[:254]
    reason = purchase_settle(Purchase(
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
    ))
    return Result(EventStatus.PROCESSED, reason)


def checkout_paid(event: InboundEvent) -> Result:
    """A paid Checkout Session: one grant per line item (read from Stripe, not in the event)."""
    session = _object(event)
    if session.get("payment_status") != "paid":
        return Result(EventStatus.IGNORED, EventReason.NOT_PAID)
    location = event.location
    key = location_secret(location, "stripe_restricted_key_enc")
    if not key:
        return Result(EventStatus.FAILED, EventReason.STRIPE_KEY_MISSING,
                      "Set the restricted key in Settings to read Checkout line items.")
    paid_at = _epoch(event.payload.get("created"))
    intent = str(session.get("payment_intent") or "")
    lines = []
    for item in client.checkout_line_items(api_key=key, session_id=str(session["id"])):
        price = item.get("price") or {}
        lines.append(_line(
            location,
            external_id=f"stripe:{session['id']}:{item.get('id')}",
            price=str(price.get("id") or ""),
            product=str(price.get("product") or ""),
            quantity=item.get("quantity"),
            amount=item.get("amount_total"),
            currency=item.get("currency") or session.get("currency"),
            paid_at=paid_at,
            intent=intent,
        ))
    details = session.get("customer_details") or {}
    return _settle(event, lines, email=details.get("email") or session.get("customer_email"),
                   name=details.get("name"), metadata=session.get("metadata") or {})


def invoice_paid(event: InboundEvent) -> Result:
    """A paid invoice: one grant per line of a mapped price/product."""
    invoice = _object(event)
    paid_at = _epoch((invoice.get("status_transitions") or {}).get("paid_at")) or _epoch(
        event.payload.get("created")
    )
    intent = str(invoice.get("payment_intent") or "")
    lines = []
    for index, line in enumerate((invoice.get("lines") or {}).get("data") or []):
        # API versions from 2025-03-31 put the price under pricing.price_details; older
        # ones had line.price.
        details = (line.get("pricing") or {}).get("price_details") or {}
        old_price = line.get("price") or {}
        lines.append(_line(
            event.location,
            external_id=f"stripe:{invoice['id']}:{line.get('id') or index}",
            price=str(details.get("price") or old_price.get("id") or ""),
            product=str(details.get("product") or old_price.get("product") or ""),
            quantity=line.get("quantity"),
            amount=line.get("amount"),
            currency=line.get("currency") or invoice.get("currency"),
            paid_at=paid_at,
            intent=intent,
        ))
    subscription = (invoice.get("parent") or {}).get("subscription_details") or {}
    metadata = {**(subscription.get("metadata") or {}), **(invoice.get("metadata") or {})}
    return _settle(event, lines, email=invoice.get("customer_email"),
                   name=invoice.get("customer_name"), metadata=metadata)
