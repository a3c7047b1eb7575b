"""One purchase grants once, whoever reports it (SPEC §1 invariant 5, §5.3, §6.2).

GoHighLevel reports a sale as an invoice and/or an order; a merchant's own Stripe reports it
as a Checkout Session and/or an invoice. Integrations turn their payloads into a `Purchase`
of `PurchaseLine`s and call `purchase_settle`, which grants each line through the engine or
records why it did not (unmatched, ambiguous, duplicate of a twin).

Twins — the same purchase seen through another view — are matched here and only here: the
ids both views report (a Stripe Checkout Session and the invoice it created), else the same
payment intent when both views know one, else — between views that share no ids, GHL and
Stripe — the purchase fingerprint (location, contact, product config, amount, paid within 15
minutes). `purchase_refund` (by payment intent) and `purchase_refund_by_payment` (by payment
key) take a refunded, voided or disputed purchase back, whoever granted it.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from locations.models import Location

from . import events, services
from .models import PaymentEvent, PaymentOutcome
from .outcomes import BillingSuspended, Outcome, Reason

FINGERPRINT_WINDOW = timedelta(minutes=15)
# Metadata key on a `duplicate` payment naming the granted payment it was matched to.
TWIN_KEY = "duplicate_of"
# Metadata key naming the inbound event whose processing recorded the payment.
ORIGIN_KEY = "inbound_event"
# Metadata key holding a payment's twin refs ({ref: true}, so `has_any_keys` can match them).
REFS_KEY = "twin_refs"


class PaymentProvider:
    """PaymentEvent.provider of the integrations' payments (API grants name their own)."""

    GHL = "ghl"
    STRIPE = "stripe"


# The other views of one purchase, by the prefix of a line's external payment id.
# Views that share no ids are matched by payment intent, else by fingerprint: a GHL invoice and
# the order of the same sale, and any GHL sale that the merchant Stripe fallback reports too
# (whichever came first).
_FINGERPRINT_TWINS = {
    "ghl:invoice:": Q(provider=PaymentProvider.GHL, external_payment_id__startswith="ghl:order:")
    | Q(provider=PaymentProvider.STRIPE),
    "ghl:order:": Q(provider=PaymentProvider.GHL, external_payment_id__startswith="ghl:invoice:")
    | Q(provider=PaymentProvider.STRIPE),
    "stripe:": Q(provider=PaymentProvider.GHL),
}
# A Stripe Checkout Session and the invoice it created both name the invoice (payment mode with
# invoice creation) or the subscription (its first invoice): matched on those ids, never on
# amounts — Checkout's amounts include tax and discounts, an invoice line's amount does not.
_ID_TWINS = {
    "stripe:cs_": Q(provider=PaymentProvider.STRIPE, external_payment_id__startswith="stripe:in_"),
    "stripe:in_": Q(provider=PaymentProvider.STRIPE, external_payment_id__startswith="stripe:cs_"),
}


@dataclass(frozen=True)
class PurchaseLine:
    """One paid line of an invoice/order/checkout, ready to be matched and granted."""

    external_payment_id: str
    product_ref: str  # how the line names its product, for explanations
    configs: tuple  # the active product configs it matches
    quantity: int
    amount_cents: int | None
    currency: str
    paid_at: datetime | None
    payment_intent: str = ""
    # Ids that name this purchase in its other view (`_ID_TWINS`), e.g. "subscription:sub_1".
    twin_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Purchase:
    location: Location
    provider: str  # the PaymentEvent provider: PaymentProvider.GHL or .STRIPE
    source: str  # the ledger source
    event_type: str
    contact_key: str | None
    email: str
    name: str
    is_test: bool
    lines: tuple
    origin_event: int | None = None  # the inbound event reporting it
    correlation_id: str = ""


def advisory_xact_lock(name: str) -> None:
    """Block until this transaction holds the PostgreSQL advisory lock named `name`.
    SQLite serializes writers anyway."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(name.encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _views(table: dict, line: PurchaseLine) -> Q:
    for prefix, twins in table.items():
        if line.external_payment_id.startswith(prefix):
            return twins
    return Q(pk__in=[])


def _twin(purchase: Purchase, line: PurchaseLine, config) -> PaymentEvent | None:
    """A granted payment for the same purchase: the other Stripe view naming the same ids, the
    same payment intent when both know one, else the fingerprint (location, contact, product
    config, amount, paid within 15 minutes) between GHL and Stripe views.

    A fingerprint twin already matched by an earlier duplicate is used up (two real purchases
    of one pack must not both hide behind one grant), and payments whose known payment
    intents differ are never the same purchase."""
    granted = PaymentEvent.objects.filter(
        location=purchase.location,
        # a refunded grant is still the purchase: its twin must not grant again
        outcome__in=(PaymentOutcome.GRANTED, PaymentOutcome.REFUNDED),
    ).order_by("pk")
    by_ids, by_fingerprint = _views(_ID_TWINS, line), _views(_FINGERPRINT_TWINS, line)
    if line.twin_refs:
        same_ids = granted.filter(
            by_ids,
            product_config=config,
            **{f"metadata__{REFS_KEY}__has_any_keys": list(line.twin_refs)},
        ).first()
        if same_ids is not None:
            return same_ids
    if line.payment_intent:
        same_intent = granted.filter(
            by_ids | by_fingerprint, metadata__payment_intent=line.payment_intent
        ).first()
        if same_intent is not None:
            return same_intent
    if line.amount_cents is None or line.paid_at is None:
        return None
    # Only this contact's duplicates can point at this contact's grants: a bounded read.
    used = set(
        PaymentEvent.objects.filter(
            location=purchase.location,
            contact__external_id=purchase.contact_key,
            outcome=PaymentOutcome.DUPLICATE,
            metadata__has_key=TWIN_KEY,
        ).values_list(f"metadata__{TWIN_KEY}", flat=True)
    )
    candidates = granted.filter(
        by_fingerprint,
        contact__external_id=purchase.contact_key,
        product_config=config,
        amount_cents=line.amount_cents,
        paid_at__gte=line.paid_at - FINGERPRINT_WINDOW,
        paid_at__lte=line.paid_at + FINGERPRINT_WINDOW,
    )
    for candidate in candidates:
        theirs = (candidate.metadata or {}).get("payment_intent")
        if candidate.pk in used or (
            line.payment_intent and theirs and theirs != line.payment_intent
        ):
            continue
        return candidate
    return None


def _settle_line(purchase: Purchase, line: PurchaseLine) -> str:
    metadata = {}
    if purchase.origin_event is not None:
        metadata[ORIGIN_KEY] = purchase.origin_event
    if line.payment_intent:
        metadata["payment_intent"] = line.payment_intent
    if line.twin_refs:
        metadata[REFS_KEY] = dict.fromkeys(line.twin_refs, True)
    payment = services.Payment(
        provider=purchase.provider,
        external_payment_id=line.external_payment_id,
        event_type=purchase.event_type,
        amount_cents=line.amount_cents,
        currency=line.currency,
        paid_at=line.paid_at,
        is_test=purchase.is_test,
        metadata=metadata,
    )

    def record(outcome: str, explanation: str) -> str:
        row = services.payment_record(
            location=purchase.location,
            contact_key=purchase.contact_key,
            payment=payment,
            outcome=outcome,
            explanation=explanation,
            external_product_ref=line.product_ref[:255],
        )
        if row.outcome in _NEEDS_ADMIN:
            _announce_unmatched(row, purchase.contact_key)
        return outcome

    if not purchase.contact_key:
        return record(PaymentOutcome.UNMATCHED, "no contact in this location for this payment")
    if not line.configs:
        return record(PaymentOutcome.UNMATCHED, f"no active product config for {line.product_ref}")
    if len(line.configs) > 1:
        names = ", ".join(config.name for config in line.configs)
        return record(
            PaymentOutcome.AMBIGUOUS,
            f"{len(line.configs)} active product configs match {line.product_ref} ({names}); "
            "keep exactly one active",
        )
    config = line.configs[0]
    twin = _twin(purchase, line, config)
    if twin is not None:
        metadata[TWIN_KEY] = twin.pk
        return record(
            PaymentOutcome.DUPLICATE,
            f"same purchase already granted as {twin.provider} payment {twin.external_payment_id}",
        )
    outcome = services.credits_grant(
        location=purchase.location,
        contact_key=purchase.contact_key,
        product_config_id=config.public_id,
        payment=payment,
        actor=services.Actor(source=purchase.source, correlation_id=purchase.correlation_id),
        quantity=line.quantity,
        email=purchase.email,
        name=purchase.name,
    )
    if outcome.reason_code == Reason.BILLING_SUSPENDED:
        raise BillingSuspended()
    if outcome.reason_code == Reason.DUPLICATE_EVENT and _granted_by(purchase, line):
        return Reason.GRANT_APPLIED  # a re-run of the event that granted it
    return outcome.reason_code


# Payments an admin has to fix (a product config to map or to deactivate) are announced.
_NEEDS_ADMIN = (PaymentOutcome.UNMATCHED, PaymentOutcome.AMBIGUOUS)


def _announce_unmatched(row: PaymentEvent, contact_key: str | None) -> None:
    """payment.unmatched; keyed on the payment, so a redelivered purchase announces once."""
    events.publish(
        events.PAYMENT_UNMATCHED,
        row.location_id,
        {
            "payment_id": row.public_id,
            "outcome": row.outcome,
            "explanation": row.explanation,
            "provider": row.provider,
            "external_payment_id": row.external_payment_id,
            "product": row.external_product_ref,
            "amount_cents": row.amount_cents,
            "currency": row.currency,
            "contact_id": contact_key or "",
        },
        key=f"payment.unmatched:{row.public_id}",
        contact_pk=row.contact_id,
    )


def _granted_by(purchase: Purchase, line: PurchaseLine) -> bool:
    if purchase.origin_event is None:
        return False
    return PaymentEvent.objects.filter(
        location=purchase.location,
        external_payment_id=line.external_payment_id,
        **{f"metadata__{ORIGIN_KEY}": purchase.origin_event},
    ).exists()


def purchase_settle(purchase: Purchase) -> str:
    """Grant (or record why not) every line, in one transaction. Returns the first line's
    refusal/outcome that is not a grant, else `grant_applied`.

    Raises BillingSuspended, rolling back every line, when billing got suspended meanwhile.
    """
    with transaction.atomic():
        if purchase.contact_key:
            # Serialize grant decisions for one contact, so an order and its invoice processed
            # at the same moment cannot both miss each other's fingerprint.
            advisory_xact_lock(f"purchase:{purchase.location.pk}:{purchase.contact_key}")
        reasons = [_settle_line(purchase, line) for line in purchase.lines]
    return next((r for r in reasons if r != Reason.GRANT_APPLIED), Reason.GRANT_APPLIED)


def purchase_refund(
    *,
    location: Location,
    payment_intent: str,
    actor: services.Actor,
    refunded: tuple[int, int] | None = None,
) -> str:
    """Take back the unused credits of every grant the payment intent paid for, whoever
    recorded it: a payment suppressed as a duplicate refunds through the grant it was matched
    to (a GHL sale also seen through the merchant's Stripe). `refunded` is the cumulative
    (amount refunded, amount charged); None takes everything back (a full refund, a dispute).
    Each grant gives back that share of its own amount (services.payment_refund: idempotent,
    never below zero). Returns `refund_applied`, or PAYMENT_NOT_GRANTED when no grant is
    known for the intent (yet)."""
    with transaction.atomic():
        seen = list(
            PaymentEvent.objects.filter(location=location, metadata__payment_intent=payment_intent)
        )
        twins = [
            p.metadata[TWIN_KEY]
            for p in seen
            if p.entitlement_id is None and (p.metadata or {}).get(TWIN_KEY)
        ]
        grants = PaymentEvent.objects.filter(
            Q(pk__in=[p.pk for p in seen]) | Q(pk__in=twins),
            location=location,
            entitlement__isnull=False,
        ).order_by("pk")
        reason = Reason.PAYMENT_NOT_GRANTED
        for grant in grants:
            cents = None
            if refunded is not None and grant.amount_cents:
                cents = grant.amount_cents * refunded[0] // refunded[1]
            reason = services.payment_refund(
                location=location,
                provider=grant.provider,
                external_payment_id=grant.external_payment_id,
                actor=actor,
                refunded_cents=cents,
            ).reason_code
    return reason


def purchase_refund_by_payment(
    *,
    location: Location,
    provider: str,
    external_payment_id: str,
    actor: services.Actor,
    refunded_cents: int | None = None,
) -> Outcome:
    """Take back the unused credits of the purchase one payment key reports
    (services.payment_refund, same contract): the payment's own grant, or — when the payment
    was suppressed as the duplicate of a twin (a voided GHL invoice whose order granted) —
    the twin's grant. For reports that name a payment, not a payment intent."""
    row = (
        PaymentEvent.objects.filter(
            location=location, provider=provider, external_payment_id=external_payment_id
        )
        .values("entitlement_id", "metadata")
        .first()
    )
    twin = (row["metadata"] or {}).get(TWIN_KEY) if row and not row["entitlement_id"] else None
    if twin is not None:
        provider, external_payment_id = PaymentEvent.objects.values_list(
            "provider", "external_payment_id"
        ).get(pk=twin)
    return services.payment_refund(
        location=location,
        provider=provider,
        external_payment_id=external_payment_id,
        actor=actor,
        refunded_cents=refunded_cents,
    )
