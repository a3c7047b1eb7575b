"""Processing of stored inbound events: claim the row, route on the event type to one handler,
record the final status and reason code on the row (SPEC §5.3).

Exactly-once: a handler that moves credits records the event's final status inside the same
transaction as the credit change, so a worker killed half-way leaves either both or neither;
a re-run then finds the event final (claim refuses it) or starts again from a clean slate.
The engine's own keys (payment key, `ghl:appt:<id>:*` request ids) are the second guard
when two workers race on one event.
"""

import hashlib
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import stripe
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import SUSPENDED
from entitlements import services
from entitlements.idempotency import InProgress, run_once
from entitlements.models import (
    Appointment,
    Contact,
    PaymentEvent,
    PaymentOutcome,
    ProductConfig,
    Source,
)
from entitlements.outcomes import Reason, refuse
from kotally.lib.timeutil import parse_aware
from locations.models import Location, LocationStatus

from . import installs
from .models import EventStatus, InboundEvent, Provider
from .webhooks import INVOICE_OTHER, INVOICE_PAID, enqueue

logger = logging.getLogger("kotally.events")

# Event reason codes beyond the engine's (success lower snake case, refusals upper).
CALENDAR_NOT_CONFIGURED = "CALENDAR_NOT_CONFIGURED"
UNKNOWN_LOCATION = "UNKNOWN_LOCATION"
UNHANDLED_EVENT_TYPE = "UNHANDLED_EVENT_TYPE"
NOT_PAID = "NOT_PAID"
INVALID_PAYLOAD = "INVALID_PAYLOAD"
PROCESSING_ERROR = "PROCESSING_ERROR"
APPOINTMENT_NOT_FOUND = "APPOINTMENT_NOT_FOUND"
RESTORE_ON_CANCEL_OFF = "RESTORE_ON_CANCEL_OFF"
CONTACT_SAVED = "contact_saved"
APPOINTMENT_UPDATED = "appointment_updated"

CANCEL_TYPES = ("AppointmentUpdate", "AppointmentDelete")
FINAL = (EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.FAILED)
# App lifecycle events are not business writes: they are processed even while billing is
# suspended (an uninstall must always disconnect).
NEVER_HELD = ("INSTALL", "UNINSTALL")
FINGERPRINT_WINDOW = timedelta(minutes=15)
# PaymentEvent.provider of the merchant Stripe fallback's payments (billing/merchant.py).
STRIPE_PAYMENT_PROVIDER = "stripe"
# Metadata key on a `duplicate` payment naming the granted payment it was matched to.
TWIN_KEY = "duplicate_of"


@dataclass(frozen=True)
class Result:
    status: str
    reason_code: str
    error: str = ""


class InvalidPayload(Exception):
    """The event lacks what its type needs; it fails for good (a retry cannot fix it)."""


class _Hold(Exception):
    """Billing got suspended between the claim and the write: roll back and hold."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth a retry with backoff: database hiccups, a concurrent run of the same
    request id, and GHL/Stripe failures their clients mark as retryable."""
    if isinstance(exc, OperationalError | InterfaceError | InProgress):
        return True
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return bool(getattr(exc, "retryable", False))


# --- lifecycle: claim, finish, process, release, sweep ----------------------------------------


def finish(event: InboundEvent, result: Result) -> None:
    now = timezone.now()
    InboundEvent.objects.filter(pk=event.pk).update(
        status=result.status,
        reason_code=result.reason_code,
        last_error=result.error,
        processed_at=now if result.status in FINAL else None,
        updated_at=now,
    )


def _held_before(event: InboundEvent) -> bool:
    """Held events of the same location received earlier: this one must wait behind them."""
    earlier = Q(received_at__lt=event.received_at) | Q(
        received_at=event.received_at, pk__lt=event.pk
    )
    return (
        InboundEvent.objects.filter(location=event.location_id, status=EventStatus.HELD)
        .filter(earlier)
        .exists()
    )


def _claim(event_pk: int, *, releasing: bool, now: datetime) -> tuple[InboundEvent | None, float]:
    """Lock the row and move it to `processing`. Returns (event, 0) to go on, (None, wait)
    when it is not due for `wait` seconds, (None, 0) when there is nothing to do."""
    with transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(of=("self",))
            .select_related("location__workspace")
            .filter(pk=event_pk)
            .first()
        )
        if event is None or event.status in FINAL:
            return None, 0
        if releasing != (event.status == EventStatus.HELD):
            return None, 0
        if event.process_after and event.process_after > now:
            return None, (event.process_after - now).total_seconds()
        if event.location is None and event.location_ref:
            # An INSTALL processed after this event was stored may have created the location.
            event.location = Location.objects.filter(location_id=event.location_ref).first()
        if (
            event.location is not None
            and event.event_type not in NEVER_HELD
            and (event.location.workspace.billing_suspended or _held_before(event))
        ):
            event.status, event.reason_code = EventStatus.HELD, Reason.BILLING_SUSPENDED
            event.save(update_fields=["location", "status", "reason_code", "updated_at"])
            return None, 0
        event.status = EventStatus.PROCESSING
        event.attempts += 1
        event.save(update_fields=["location", "status", "attempts", "updated_at"])
        return event, 0


def process(event_pk: int, *, releasing: bool = False) -> float:
    """Process one stored event. Returns seconds to wait when it is not due yet (else 0).

    Transient errors propagate (the task retries; the row stays `processing` with the error,
    so the sweeper takes over if retries run out); anything else fails the event.
    """
    event, wait = _claim(event_pk, releasing=releasing, now=timezone.now())
    if event is None:
        return wait
    try:
        result = dispatch(event)
    except _Hold:
        result = Result(EventStatus.HELD, Reason.BILLING_SUSPENDED)
    except InvalidPayload as exc:
        result = Result(EventStatus.FAILED, INVALID_PAYLOAD, str(exc))
    except Exception as exc:
        if is_transient(exc):
            InboundEvent.objects.filter(pk=event.pk).update(last_error=repr(exc)[:2000])
            raise
        logger.exception("inbound event %s failed", event.pk)
        result = Result(EventStatus.FAILED, PROCESSING_ERROR, traceback.format_exc()[-4000:])
    finish(event, result)
    return 0


def release_held(*, workspace_pk: int | None = None) -> int:
    """Process held events, oldest first, for workspaces whose billing allows writes again.
    Each is processed inline (not enqueued) so a location's events keep their order."""
    held = InboundEvent.objects.filter(status=EventStatus.HELD).exclude(
        location__workspace__billing_status__in=SUSPENDED
    )
    if workspace_pk is not None:
        held = held.filter(location__workspace_id=workspace_pk)
    pks = list(held.order_by("received_at", "pk").values_list("pk", flat=True))
    for pk in pks:
        process(pk, releasing=True)
    return len(pks)


def sweep_stuck(*, stale_after: timedelta, now: datetime | None = None) -> list[int]:
    """Events left in received/processing longer than `stale_after` (lost broker message,
    killed worker): touch them so the next sweep waits again, and return their ids."""
    now = now or timezone.now()
    stuck = InboundEvent.objects.filter(
        status__in=(EventStatus.RECEIVED, EventStatus.PROCESSING),
        updated_at__lt=now - stale_after,
    ).filter(Q(process_after__isnull=True) | Q(process_after__lte=now))
    pks = list(stuck.order_by("received_at", "pk").values_list("pk", flat=True)[:500])
    InboundEvent.objects.filter(pk__in=pks).update(updated_at=now)
    return pks


def retry_failed(event: InboundEvent) -> bool:
    """Put a failed event back to `received` (Events page *Retry*); False if not failed."""
    return bool(
        InboundEvent.objects.filter(pk=event.pk, status=EventStatus.FAILED).update(
            status=EventStatus.RECEIVED, reason_code="", updated_at=timezone.now()
        )
    )


# --- routing ----------------------------------------------------------------------------------


def dispatch(event: InboundEvent) -> Result:
    if event.provider == Provider.STRIPE_MERCHANT:
        # billing depends on integrations_ghl, not the other way round: import at call time.
        from billing.merchant import handle_merchant_event

        return _gated(event, handle_merchant_event)
    if event.event_type == "INSTALL":
        return Result(*installs.handle_install(event))
    if event.event_type == "UNINSTALL":
        return Result(*installs.handle_uninstall(event))
    if event.location is None:
        return Result(EventStatus.IGNORED, UNKNOWN_LOCATION)
    if event.event_type in ("ContactCreate", "ContactUpdate"):
        return contact_upsert(event)
    handler = GHL_HANDLERS.get(event.event_type)
    if handler is None:
        return Result(EventStatus.IGNORED, UNHANDLED_EVENT_TYPE)
    return _gated(event, handler)


def _gated(event: InboundEvent, handler) -> Result:
    """Credit-moving events need an active location; otherwise they fail (retryable from the
    Events page once the location is active) rather than store an engine refusal forever."""
    if event.location is None:
        return Result(EventStatus.IGNORED, UNKNOWN_LOCATION)
    if event.location.status != LocationStatus.ACTIVE:
        return Result(EventStatus.FAILED, Reason.LOCATION_INACTIVE)
    return handler(event)


def _actor(event: InboundEvent, request_id: str = "", source: str = Source.GHL) -> services.Actor:
    return services.Actor(source=source, request_id=request_id, correlation_id=f"evt_{event.pk}")


def _required(mapping: dict, key: str, what: str) -> str:
    value = mapping.get(key)
    if not value or not isinstance(value, str | int):
        raise InvalidPayload(f"{what} has no {key}")
    return str(value)


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        return parse_aware(str(value))
    except ValueError as exc:
        raise InvalidPayload(f"unreadable time {value!r}: {exc}") from exc


# --- contacts ---------------------------------------------------------------------------------


def contact_upsert(event: InboundEvent) -> Result:
    """ContactCreate / ContactUpdate: keep the contact's email and name current."""
    payload = event.payload
    key = _required(payload, "id", "contact")
    name = payload.get("name") or " ".join(
        part for part in (payload.get("firstName"), payload.get("lastName")) if part
    )
    fields = {"email": (payload.get("email") or "")[:254], "name": (name or "")[:255]}
    fields = {field: value for field, value in fields.items() if value}
    with transaction.atomic():
        contact, created = Contact.objects.select_for_update().get_or_create(
            location=event.location, external_id=key[:255], defaults=fields
        )
        changed = {f: v for f, v in fields.items() if getattr(contact, f) != v}
        if not created and changed:
            Contact.objects.filter(pk=contact.pk).update(**changed, updated_at=timezone.now())
        result = Result(EventStatus.PROCESSED, CONTACT_SAVED)
        finish(event, result)
    return result


# --- purchases (shared with the merchant Stripe fallback) -------------------------------------


def to_cents(amount) -> int | None:
    """Major units (GHL sends 999 for 999.00) to integer cents; None when absent/unreadable."""
    if amount is None or isinstance(amount, bool):
        return None
    try:
        return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))
    except (InvalidOperation, ValueError):
        return None


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


@dataclass(frozen=True)
class Purchase:
    provider: str  # the PaymentEvent provider: "ghl" or "stripe"
    source: str  # the ledger source
    event_type: str
    contact_key: str | None
    email: str
    name: str
    is_test: bool
    lines: tuple
    twins: Q  # which granted payments count as "the same purchase seen elsewhere"


def _purchase_lock(location: Location, contact_key: str) -> None:
    """Serialize grant decisions for one contact, so an order and its invoice processed at the
    same moment cannot both miss each other's fingerprint. SQLite serializes writers anyway."""
    _advisory_xact_lock(f"purchase:{location.pk}:{contact_key}")


def _advisory_xact_lock(name: str) -> None:
    """Block until this transaction holds the PostgreSQL advisory lock named `name`."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(name.encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _twin(location, purchase: Purchase, line: PurchaseLine, config) -> PaymentEvent | None:
    """A granted payment for the same purchase: same payment intent when both know one, else
    the fingerprint (location, contact, product config, amount, paid within 15 minutes).

    A fingerprint twin already matched by an earlier duplicate is used up (two real purchases
    of one pack must not both hide behind one grant), and payments whose known payment
    intents differ are never the same purchase."""
    granted = PaymentEvent.objects.filter(
        location=location, outcome=PaymentOutcome.GRANTED
    ).filter(purchase.twins).order_by("pk")
    if line.payment_intent:
        same_intent = granted.filter(metadata__payment_intent=line.payment_intent).first()
        if same_intent is not None:
            return same_intent
    if line.amount_cents is None or line.paid_at is None:
        return None
    # Only this contact's duplicates can point at this contact's grants: a bounded read.
    used = set(
        PaymentEvent.objects.filter(
            location=location, contact__external_id=purchase.contact_key,
            outcome=PaymentOutcome.DUPLICATE, metadata__has_key=TWIN_KEY,
        ).values_list(f"metadata__{TWIN_KEY}", flat=True)
    )
    candidates = granted.filter(
        contact__external_id=purchase.contact_key,
        product_config=config,
        amount_cents=line.amount_cents,
        paid_at__gte=line.paid_at - FINGERPRINT_WINDOW,
        paid_at__lte=line.paid_at + FINGERPRINT_WINDOW,
    )
    for candidate in candidates:
        theirs = (candidate.metadata or {}).get("payment_intent")
        if candidate.pk in used or (line.payment_intent and theirs
                                    and theirs != line.payment_intent):
            continue
        return candidate
    return None


def _settle_line(event, purchase: Purchase, line: PurchaseLine) -> str:
    location = event.location
    metadata = {"inbound_event": event.pk}
    if line.payment_intent:
        metadata["payment_intent"] = line.payment_intent

    def record(outcome: str, explanation: str) -> str:
        services.payment_record(
            location=location,
            contact_key=purchase.contact_key,
            provider=purchase.provider,
            external_payment_id=line.external_payment_id,
            outcome=outcome,
            explanation=explanation,
            event_type=purchase.event_type,
            amount_cents=line.amount_cents,
            currency=line.currency,
            paid_at=line.paid_at,
            external_product_ref=line.product_ref[:255],
            is_test=purchase.is_test,
            metadata=metadata,
        )
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
    twin = _twin(location, purchase, line, config)
    if twin is not None:
        metadata[TWIN_KEY] = twin.pk
        return record(
            PaymentOutcome.DUPLICATE,
            f"same purchase already granted as {twin.provider} payment {twin.external_payment_id}",
        )
    outcome = services.credits_grant(
        location=location,
        contact_key=purchase.contact_key,
        product_config_id=config.public_id,
        external_payment_id=line.external_payment_id,
        actor=_actor(event, source=purchase.source),
        provider=purchase.provider,
        event_type=purchase.event_type,
        quantity=line.quantity,
        amount_cents=line.amount_cents,
        currency=line.currency,
        paid_at=line.paid_at,
        email=purchase.email,
        name=purchase.name,
        metadata=metadata,
        is_test=purchase.is_test,
    )
    if outcome.reason_code == Reason.BILLING_SUSPENDED:
        raise _Hold()
    if outcome.reason_code == Reason.DUPLICATE_EVENT and _granted_by(event, line):
        return Reason.GRANT_APPLIED  # a re-run of the event that granted it
    return outcome.reason_code


def _granted_by(event, line: PurchaseLine) -> bool:
    return PaymentEvent.objects.filter(
        location=event.location,
        external_payment_id=line.external_payment_id,
        metadata__inbound_event=event.pk,
    ).exists()


def settle_purchase(event: InboundEvent, purchase: Purchase) -> Result:
    """Grant (or record why not) every line, and finish the event, in one transaction.
    The event's reason is the first line's refusal/outcome that is not a grant, else
    `grant_applied`."""
    if not purchase.lines:
        return Result(EventStatus.IGNORED, "NO_LINE_ITEMS")
    with transaction.atomic():
        if purchase.contact_key:
            _purchase_lock(event.location, purchase.contact_key)
        reasons = [_settle_line(event, purchase, line) for line in purchase.lines]
        reason = next((r for r in reasons if r != Reason.GRANT_APPLIED), Reason.GRANT_APPLIED)
        result = Result(EventStatus.PROCESSED, reason)
        finish(event, result)
    return result


def _ghl_configs(location, product_id: str, price_id: str) -> tuple:
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


def invoice_paid(event: InboundEvent) -> Result:
    """InvoicePaid: one grant per invoice item (`ghl:invoice:<invoice id>:<item id>`)."""
    payload = event.payload
    invoice_id = _required(payload, "_id", "invoice")
    contact = payload.get("contactDetails") or {}
    paid_at = _time(payload.get("updatedAt") or payload.get("createdAt"))
    lines = [
        _ghl_line(
            event,
            external_payment_id=f"ghl:invoice:{invoice_id}:{item.get('_id') or index}",
            product_id=item.get("productId"),
            price_id=item.get("priceId"),
            qty=item.get("qty"),
            unit_amount=item.get("amount"),
            currency=item.get("currency"),
            paid_at=paid_at,
        )
        for index, item in enumerate(payload.get("invoiceItems") or [])
    ]
    return settle_purchase(event, _ghl_purchase(
        event, contact, lines, twins=Q(external_payment_id__startswith="ghl:order:")
    ))


def order_paid(event: InboundEvent) -> Result:
    """OrderCreate / OrderStatusUpdate once completed/paid: one grant per item
    (`ghl:order:<order id>:<index>`)."""
    payload = event.payload
    if payload.get("status") not in ("completed", "paid") and payload.get(
        "paymentStatus"
    ) != "paid":
        return Result(EventStatus.IGNORED, NOT_PAID)
    order_id = _required(payload, "_id", "order")
    contact = dict(payload.get("contactSnapshot") or {})
    contact.setdefault("id", payload.get("contactId"))
    paid_at = _time(payload.get("updatedAt") or payload.get("createdAt"))
    lines = [
        _ghl_line(
            event,
            external_payment_id=f"ghl:order:{order_id}:{index}",
            product_id=(item.get("product") or {}).get("_id"),
            price_id=(item.get("price") or {}).get("_id"),
            qty=item.get("qty"),
            unit_amount=(item.get("price") or {}).get("amount"),
            currency=(item.get("price") or {}).get("currency"),
            paid_at=paid_at,
        )
        for index, item in enumerate(payload.get("items") or [])
    ]
    return settle_purchase(event, _ghl_purchase(
        event, contact, lines, twins=Q(external_payment_id__startswith="ghl:invoice:")
    ))


def _ghl_line(event, *, external_payment_id, product_id, price_id, qty, unit_amount, currency,
              paid_at) -> PurchaseLine:
    """One invoice item or order item as a purchase line (amounts arrive in major units)."""
    quantity = _quantity(qty)
    unit = to_cents(unit_amount)
    product_id = str(product_id or "")
    return PurchaseLine(
        external_payment_id=external_payment_id,
        product_ref=f"GHL product {product_id or '(none)'}",
        configs=_ghl_configs(event.location, product_id, str(price_id or "")),
        quantity=quantity,
        amount_cents=unit * quantity if unit is not None else None,
        currency=str(currency or event.payload.get("currency") or "")[:3],
        paid_at=paid_at,
        payment_intent=_ghl_payment_intent(event.payload),
    )


def _ghl_payment_intent(payload: dict) -> str:
    """The Stripe payment intent behind a GHL payment, when the payload names one. GHL does
    not document such a field on invoice/order webhooks; these are the names its payment
    objects use elsewhere, so the Stripe fallback can match on it when present."""
    for key in ("paymentIntentId", "stripePaymentIntentId", "chargeId"):
        if payload.get(key):
            return str(payload[key])
    return ""


def _ghl_purchase(event, contact: dict, lines: list, *, twins: Q) -> Purchase:
    return Purchase(
        provider=Provider.GHL,
        source=Source.GHL,
        event_type=event.event_type,
        contact_key=str(contact.get("id") or "")[:255] or None,
        email=str(contact.get("email") or "")[:254],
        name=str(contact.get("name") or "")[:255],
        is_test=event.payload.get("liveMode") is False,
        lines=tuple(lines),
        # The other GHL view of the purchase, or the merchant Stripe fallback's grant when
        # Stripe's delivery happened to be processed first.
        twins=(Q(provider=Provider.GHL) & twins) | Q(provider=STRIPE_PAYMENT_PROVIDER),
    )


def invoice_not_paid(event: InboundEvent) -> Result:
    return Result(EventStatus.IGNORED, NOT_PAID)


# --- appointments -----------------------------------------------------------------------------


def _appointment(event: InboundEvent) -> dict:
    appointment = event.payload.get("appointment")
    if not isinstance(appointment, dict):
        raise InvalidPayload("no appointment object")
    for key in ("id", "calendarId", "contactId"):
        _required(appointment, key, "appointment")
    return appointment


def _calendar_configured(location: Location, calendar_id: str) -> bool:
    """Any config of the location (removed ones too: the engine then answers
    CONFIG_NOT_FOUND, SPEC §2.3) lists the calendar in its service family."""
    families = ProductConfig.objects.filter(location=location).values_list(
        "calendar_ids", flat=True
    )
    return any(calendar_id in (family or []) for family in families)


def _once(event: InboundEvent, appointment: dict, action: str, move) -> Result:
    """Deduct or restore through `run_once` with request id `ghl:appt:<id>:<action>`; the
    event's status is written in the same transaction as the credit change."""
    appointment_id = str(appointment["id"])
    request_id = f"ghl:appt:{appointment_id}:{action}"
    location = event.location

    def execute():
        outcome = move(event, appointment, request_id)
        if outcome.reason_code == Reason.BILLING_SUSPENDED:
            raise _Hold()  # rolls back: nothing stored under the request id
        finish(event, Result(EventStatus.PROCESSED, outcome.reason_code))
        return 200, {
            "ok": outcome.ok,
            "reason_code": outcome.reason_code,
            "entitlement_id": outcome.entitlement_id,
            "inbound_event": event.pk,
        }

    stored = run_once(
        location=location,
        request_id=request_id,
        operation=action,
        payload={"appointment_id": appointment_id},
        execute=execute,
    )
    if stored.replayed and stored.body.get("inbound_event") != event.pk:
        return Result(EventStatus.IGNORED, Reason.DUPLICATE_EVENT)
    return Result(EventStatus.PROCESSED, stored.body["reason_code"])


def _appointment_lock(location: Location, appointment_id: str) -> None:
    """Serialize a booking's deduct against its cancels' "was it deducted?" check, so a
    cancel processed at the same moment as its booking can never miss it (both would
    otherwise see the other uncommitted). SQLite serializes writers anyway."""
    _advisory_xact_lock(f"appointment:{location.pk}:{appointment_id}")


def _early_cancels(location: Location, appointment_id: str):
    """Cancels of this appointment processed before its booking deducted: they found nothing
    to give back and left the restore request id unused (see appointment_cancel)."""
    return InboundEvent.objects.filter(
        location=location,
        provider=Provider.GHL,
        event_type__in=CANCEL_TYPES,
        status=EventStatus.PROCESSED,
        reason_code=Reason.NOTHING_TO_RESTORE,
        payload__appointment__id=appointment_id,
    )


def _replay_early_cancels(location: Location, appointment_id: str) -> None:
    """The booking has just deducted: run its early cancels again (after commit), so the
    ledger ends as in-order delivery leaves it — deducted, then restored per the window."""
    pks = list(_early_cancels(location, appointment_id).values_list("pk", flat=True))
    if not pks:
        return
    InboundEvent.objects.filter(pk__in=pks).update(
        status=EventStatus.RECEIVED, reason_code="", processed_at=None, updated_at=timezone.now()
    )
    for pk in pks:
        transaction.on_commit(lambda pk=pk: enqueue(pk))


def _deduct(event, appointment, request_id):
    appointment_id = str(appointment["id"])
    _appointment_lock(event.location, appointment_id)
    outcome = services.credits_deduct(
        location=event.location,
        contact_key=str(appointment["contactId"]),
        actor=_actor(event, request_id),
        calendar_id=str(appointment["calendarId"]),
        amount=1,
        external_ref=appointment_id,
        appointment_time=_time(appointment.get("startTime")),
    )
    if outcome.ok:
        _replay_early_cancels(event.location, appointment_id)
    return outcome


def _restore(event, appointment, request_id):
    # A cancel for a booking that never deducted must not give back some other booking's
    # credit (the engine falls back to "latest deduction of the calendar" for unknown refs).
    deducted = Appointment.objects.filter(
        location=event.location, external_id=str(appointment["id"]), credits_deducted__gt=0
    ).exists()
    if not deducted:
        return refuse(Reason.NOTHING_TO_RESTORE)
    return services.credits_restore(
        location=event.location,
        contact_key=str(appointment["contactId"]),
        actor=_actor(event, request_id),
        calendar_id=str(appointment["calendarId"]),
        amount=1,
        external_ref=str(appointment["id"]),
        appointment_time=_time(appointment.get("startTime")),
    )


def appointment_create(event: InboundEvent) -> Result:
    appointment = _appointment(event)
    if not _calendar_configured(event.location, str(appointment["calendarId"])):
        return Result(EventStatus.IGNORED, CALENDAR_NOT_CONFIGURED)
    return _once(event, appointment, "deduct", _deduct)


def appointment_cancel(event: InboundEvent) -> Result:
    appointment = _appointment(event)
    if not _calendar_configured(event.location, str(appointment["calendarId"])):
        return Result(EventStatus.IGNORED, CALENDAR_NOT_CONFIGURED)
    if not event.location.workspace.restore_on_cancel:
        return Result(EventStatus.IGNORED, RESTORE_ON_CANCEL_OFF)
    appointment_id = str(appointment["id"])
    with transaction.atomic():
        _appointment_lock(event.location, appointment_id)
        if not Appointment.objects.filter(
            location=event.location, external_id=appointment_id
        ).exists():
            # Not booked yet: GHL may deliver (or a worker process) the cancel before its
            # booking. Record it without using the restore request id; the booking's deduct
            # replays it (_replay_early_cancels).
            result = Result(EventStatus.PROCESSED, Reason.NOTHING_TO_RESTORE)
            finish(event, result)
            return result
    return _once(event, appointment, "restore", _restore)


def appointment_update(event: InboundEvent) -> Result:
    """Cancelled → restore; otherwise keep the stored booking's start time and status current
    (a `noshow` keeps its deduction)."""
    appointment = _appointment(event)
    status = appointment.get("appointmentStatus") or ""
    if status == "cancelled":
        return appointment_cancel(event)
    start = _time(appointment.get("startTime"))
    with transaction.atomic():
        stored = (
            Appointment.objects.select_for_update()
            .filter(location=event.location, external_id=str(appointment["id"]))
            .first()
        )
        if stored is None:
            return Result(EventStatus.IGNORED, APPOINTMENT_NOT_FOUND)
        changes = {}
        if start and start != stored.start_time:
            changes["start_time"] = start
        if status in ("noshow", "showed", "completed") and stored.status != status:
            changes["status"] = status
        if changes:
            Appointment.objects.filter(pk=stored.pk).update(**changes, updated_at=timezone.now())
        result = Result(EventStatus.PROCESSED, APPOINTMENT_UPDATED)
        finish(event, result)
    return result


GHL_HANDLERS = {
    INVOICE_PAID: invoice_paid,
    INVOICE_OTHER: invoice_not_paid,
    "OrderCreate": order_paid,
    "OrderStatusUpdate": order_paid,
    "AppointmentCreate": appointment_create,
    "AppointmentUpdate": appointment_update,
    "AppointmentDelete": appointment_cancel,
}
