"""Merchant Stripe fallback (SPEC §6.2): a location's own Stripe account reports purchases
that GHL may not, at `POST /webhooks/stripe/<location id>`.

GHL-native grants win: events are processed only after MERCHANT_STRIPE_DELAY_SECONDS and
recorded as `duplicate` when a GHL grant already covers the purchase (same payment intent
when GHL recorded one, else the purchase fingerprint). Intake follows the one webhook
pattern of integrations_ghl.webhooks: verify → store once per Stripe event id → enqueue.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from entitlements.models import Contact, ProductConfig, Source
from integrations_ghl.handlers import (
    NOT_PAID,
    STRIPE_PAYMENT_PROVIDER,
    UNHANDLED_EVENT_TYPE,
    InvalidPayload,
    Purchase,
    PurchaseLine,
    Result,
    settle_purchase,
)
from integrations_ghl.models import EventStatus, InboundEvent, Provider
from integrations_ghl.webhooks import answer, store_event
from kotally.lib.crypto import InvalidToken, decrypt
from locations.models import Location

logger = logging.getLogger("kotally.webhooks")

CHECKOUT_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
INVOICE_PAID = "invoice.paid"
STRIPE_KEY_MISSING = "STRIPE_KEY_MISSING"
STRIPE_TIMEOUT_SECONDS = 20


def _secret(location: Location | None, field: str) -> str:
    if location is None:
        return ""
    try:
        return decrypt(getattr(location, field))
    except InvalidToken:
        logger.error("merchant Stripe %s of %s cannot be decrypted", field, location.location_id)
        return ""


@csrf_exempt
def merchant_stripe_webhook(request, location_id: str):
    if request.method != "POST":
        return answer(405, "METHOD_NOT_ALLOWED", "POST only.")
    location = Location.objects.filter(
        location_id=location_id, stripe_fallback_enabled=True
    ).first()
    secret = _secret(location, "stripe_webhook_secret_enc")
    if not secret:
        return answer(404, "NOT_CONFIGURED", "No merchant Stripe fallback for this location.")
    try:
        # stripe-python's signature check (HMAC-SHA256 over "<t>.<body>", 5-minute tolerance);
        # the body is parsed here so a signed non-object can't crash Stripe's event builder.
        stripe.WebhookSignature.verify_header(
            request.body.decode("utf-8"), request.headers.get("Stripe-Signature", ""), secret,
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        return answer(400, "INVALID_SIGNATURE", "Missing or invalid Stripe-Signature.")
    try:
        payload = json.loads(request.body)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        return answer(400, "INVALID_JSON", "The body is not a JSON object.")
    try:
        _, created = store_event(
            provider=Provider.STRIPE_MERCHANT,
            # One Stripe account may feed several locations: the same evt_ id is a distinct
            # delivery per location.
            event_id=f"{location.location_id}:{payload.get('id') or ''}",
            event_type=str(payload.get("type") or ""),
            location_ref=location.location_id,
            payload=payload,
            signature_scheme="stripe",
            process_after=timezone.now()
            + timedelta(seconds=settings.MERCHANT_STRIPE_DELAY_SECONDS),
        )
    except DatabaseError:
        logger.exception("could not store merchant Stripe event for %s", location_id)
        return answer(503, "TRY_AGAIN", "The event could not be stored; Stripe will retry.")
    return answer(200, "received" if created else "duplicate")


# --- processing -------------------------------------------------------------------------------


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


def _line_items(location: Location, session_id: str) -> list[dict]:
    """A Checkout Session's line items — not part of the event (INTEGRATIONS.md, Stripe).
    https://docs.stripe.com/api/checkout/sessions/line_items"""
    key = _secret(location, "stripe_restricted_key_enc")
    if not key:
        raise LookupError(STRIPE_KEY_MISSING)
    client = stripe.StripeClient(
        api_key=key, http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS)
    )
    page = client.v1.checkout.sessions.line_items.list(session_id, params={"limit": 100})
    return [item.to_dict() for item in page.auto_paging_iter()]


def _checkout_lines(location, session: dict, paid_at) -> list[PurchaseLine]:
    intent = str(session.get("payment_intent") or "")
    lines = []
    for item in _line_items(location, str(session["id"])):
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
    return lines


def _invoice_lines(location, invoice: dict, paid_at) -> list[PurchaseLine]:
    intent = str(invoice.get("payment_intent") or "")
    lines = []
    for index, line in enumerate((invoice.get("lines") or {}).get("data") or []):
        # API versions from 2025-03-31 put the price under pricing.price_details; older
        # ones had line.price.
        details = (line.get("pricing") or {}).get("price_details") or {}
        old_price = line.get("price") or {}
        lines.append(_line(
            location,
            external_id=f"stripe:{invoice['id']}:{line.get('id') or index}",
            price=str(details.get("price") or old_price.get("id") or ""),
            product=str(details.get("product") or old_price.get("product") or ""),
            quantity=line.get("quantity"),
            amount=line.get("amount"),
            currency=line.get("currency") or invoice.get("currency"),
            paid_at=paid_at,
            intent=intent,
        ))
    return lines


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


def handle_merchant_event(event: InboundEvent) -> Result:
    """Grant for a paid Checkout Session or a paid invoice; ignore everything else."""
    payload = event.payload
    obj = (payload.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not obj.get("id"):
        raise InvalidPayload("no data.object with an id")
    location = event.location
    if event.event_type in CHECKOUT_PAID:
        if obj.get("payment_status") != "paid":
            return Result(EventStatus.IGNORED, NOT_PAID)
        try:
            lines = _checkout_lines(location, obj, _epoch(payload.get("created")))
        except LookupError:
            return Result(EventStatus.FAILED, STRIPE_KEY_MISSING,
                          "Set the restricted key in Settings to read Checkout line items.")
        email = (obj.get("customer_details") or {}).get("email") or obj.get("customer_email")
        name = (obj.get("customer_details") or {}).get("name") or ""
        metadata = obj.get("metadata") or {}
        # A subscription checkout is followed by its first invoice.paid: one purchase.
        other_view = "stripe:in_"
    elif event.event_type == INVOICE_PAID:
        paid_at = _epoch((obj.get("status_transitions") or {}).get("paid_at")) or _epoch(
            payload.get("created")
        )
        lines = _invoice_lines(location, obj, paid_at)
        email, name = obj.get("customer_email"), obj.get("customer_name") or ""
        subscription = (obj.get("parent") or {}).get("subscription_details") or {}
        metadata = {**(subscription.get("metadata") or {}), **(obj.get("metadata") or {})}
        other_view = "stripe:cs_"
    else:
        return Result(EventStatus.IGNORED, UNHANDLED_EVENT_TYPE)
    email = str(email or "")[:254]
    purchase = Purchase(
        provider=STRIPE_PAYMENT_PROVIDER,
        source=Source.STRIPE,
        event_type=event.event_type,
        contact_key=_contact_key(location, metadata, email),
        email=email,
        name=str(name)[:255],
        is_test=payload.get("livemode") is False,
        lines=tuple(lines),
        # GHL's grant of the same purchase, or Stripe's other view of it (checkout ↔ invoice).
        twins=Q(provider=Provider.GHL)
        | Q(provider=STRIPE_PAYMENT_PROVIDER, external_payment_id__startswith=other_view),
    )
    return settle_purchase(event, purchase)
