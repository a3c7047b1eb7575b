"""GoHighLevel payloads → engine calls (SPEC §5.3). Registered with the inbox in
IntegrationsGhlConfig.ready; each handler returns an inbox `Result` and never finishes the
event itself.

- contacts: ContactCreate / ContactUpdate keep the contact's name and email current;
- purchases: InvoicePaid and paid orders become an entitlements.purchases.Purchase (one
  purchase grants once, whichever view of it arrives first);
- appointments: bookings of a configured calendar deduct once, cancellations restore per the
  window, other updates keep the stored booking current.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q

from entitlements import events, services
from entitlements.idempotency import run_once
from entitlements.models import Appointment, AppointmentStatus, ProductConfig, Source
from entitlements.outcomes import BillingSuspended, Reason, refuse
from entitlements.purchases import (
    PaymentProvider,
    Purchase,
    PurchaseLine,
    advisory_xact_lock,
    purchase_settle,
)
from inbox.models import EventReason, EventStatus, InboundEvent, Provider
from inbox.processing import InvalidPayload, Result, requeue
from kotally.lib.timeutil import parse_aware
from locations.models import Location

# Invoice webhooks carry no `type`: intake names them by shape (webhooks.event_type_of).
INVOICE_PAID = "InvoicePaid"
INVOICE_OTHER = "Invoice"
CANCEL_TYPES = ("AppointmentUpdate", "AppointmentDelete")


def _actor(event: InboundEvent, request_id: str = "") -> services.Actor:
    return services.Actor(source=Source.GHL, request_id=request_id,
                          correlation_id=f"evt_{event.pk}")


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
    name = payload.get("name") or " ".join(
        part for part in (payload.get("firstName"), payload.get("lastName")) if part
    )
    services.contact_upsert(
        location=event.location,
        contact_key=_required(payload, "id", "contact"),
        email=str(payload.get("email") or ""),
        name=str(name or ""),
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


def _configs(location, product_id: str, price_id: str) -> tuple:
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


def _line(event, *, external_payment_id, product_id, price_id, qty, unit_amount, currency,
          paid_at) -> PurchaseLine:
    """One invoice item or order item as a purchase line (amounts arrive in major units)."""
    quantity = _quantity(qty)
    unit = to_cents(unit_amount)
    product_id = str(product_id or "")
    return PurchaseLine(
        external_payment_id=external_payment_id,
        product_ref=f"GHL product {product_id or '(none)'}",
        configs=_configs(event.location, product_id, str(price_id or "")),
        quantity=quantity,
        amount_cents=unit * quantity if unit is not None else None,
        currency=str(currency or event.payload.get("currency") or "")[:3],
        paid_at=paid_at,
        payment_intent=_payment_intent(event.payload),
    )


def _payment_intent(payload: dict) -> str:
    """The Stripe payment intent behind a GHL payment, when the payload names one. GHL does
    not document such a field on invoice/order webhooks; these are the names its payment
    objects use elsewhere, so the Stripe fallback can match on it when present."""
    for key in ("paymentIntentId", "stripePaymentIntentId", "chargeId"):
        if payload.get(key):
            return str(payload[key])
    return ""


def _settle(event: InboundEvent, contact: dict, lines: list) -> Result:
    if not lines:
        return Result(EventStatus.IGNORED, EventReason.NO_LINE_ITEMS)
    reason = purchase_settle(Purchase(
        location=event.location,
        provider=PaymentProvider.GHL,
        source=Source.GHL,
        event_type=event.event_type,
        contact_key=str(contact.get("id") or "")[:255] or None,
        email=str(contact.get("email") or "")[:254],
        name=str(contact.get("name") or "")[:255],
        is_test=event.payload.get("liveMode") is False,
        lines=tuple(lines),
        origin_event=event.pk,
        correlation_id=f"evt_{event.pk}",
    ))
    return Result(EventStatus.PROCESSED, reason)


def invoice_paid(event: InboundEvent) -> Result:
    """InvoicePaid: one grant per invoice item (`ghl:invoice:<invoice id>:<item id>`)."""
    payload = event.payload
    invoice_id = _required(payload, "_id", "invoice")
    paid_at = _time(payload.get("updatedAt") or payload.get("createdAt"))
    lines = [
        _line(
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
    return _settle(event, payload.get("contactDetails") or {}, lines)


def order_paid(event: InboundEvent) -> Result:
    """OrderCreate / OrderStatusUpdate once completed/paid: one grant per item
    (`ghl:order:<order id>:<index>`)."""
    payload = event.payload
    if payload.get("status") not in ("completed", "paid") and payload.get(
        "paymentStatus"
    ) != "paid":
        return Result(EventStatus.IGNORED, EventReason.NOT_PAID)
    order_id = _required(payload, "_id", "order")
    contact = dict(payload.get("contactSnapshot") or {})
    contact.setdefault("id", payload.get("contactId"))
    paid_at = _time(payload.get("updatedAt") or payload.get("createdAt"))
    lines = [
        _line(
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
    return _settle(event, contact, lines)


def invoice_not_paid(event: InboundEvent) -> Result:
    return Result(EventStatus.IGNORED, EventReason.NOT_PAID)


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
    inbox records the event's result in the same transaction as the credit change."""
    appointment_id = str(appointment["id"])
    request_id = f"ghl:appt:{appointment_id}:{action}"

    def execute():
        outcome = move(event, appointment, request_id)
        if outcome.reason_code == Reason.BILLING_SUSPENDED:
            raise BillingSuspended()  # rolls back: nothing stored under the request id
        return 200, {
            "ok": outcome.ok,
            "reason_code": outcome.reason_code,
            "entitlement_id": outcome.entitlement_id,
            "inbound_event": event.pk,
        }

    stored = run_once(
        location=event.location,
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
    otherwise see the other uncommitted)."""
    advisory_xact_lock(f"appointment:{location.pk}:{appointment_id}")


def _replay_early_cancels(location: Location, appointment_id: str) -> None:
    """The booking has just deducted: run its early cancels again (after commit), so the
    ledger ends as in-order delivery leaves it — deducted, then restored per the window.
    Early cancels found nothing to give back and left the restore request id unused (see
    appointment_cancel)."""
    early = InboundEvent.objects.filter(
        location=location,
        provider=Provider.GHL,
        event_type__in=CANCEL_TYPES,
        status=EventStatus.PROCESSED,
        reason_code=Reason.NOTHING_TO_RESTORE,
        payload__appointment__id=appointment_id,
    )
    requeue(list(early.values_list("pk", flat=True)))


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
    elif outcome.reason_code != Reason.BILLING_SUSPENDED:  # that one is held, not refused
        events.announce_booking_refused(
            location_pk=event.location.pk,
            request_id=request_id,
            contact_key=str(appointment["contactId"]),
            reason_code=outcome.reason_code,
            source=Source.GHL,
            calendar_id=str(appointment["calendarId"]),
            external_ref=appointment_id,
            appointment_time=_time(appointment.get("startTime")),
        )
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
        return Result(EventStatus.IGNORED, EventReason.CALENDAR_NOT_CONFIGURED)
    return _once(event, appointment, "deduct", _deduct)


def appointment_cancel(event: InboundEvent) -> Result:
    appointment = _appointment(event)
    if not _calendar_configured(event.location, str(appointment["calendarId"])):
        return Result(EventStatus.IGNORED, EventReason.CALENDAR_NOT_CONFIGURED)
    if not event.location.workspace.restore_on_cancel:
        return Result(EventStatus.IGNORED, EventReason.RESTORE_ON_CANCEL_OFF)
    appointment_id = str(appointment["id"])
    _appointment_lock(event.location, appointment_id)
    if not Appointment.objects.filter(location=event.location, external_id=appointment_id).exists():
        # Not booked yet: GHL may deliver (or a worker process) the cancel before its
        # booking. Record it without using the restore request id; the booking's deduct
        # replays it (_replay_early_cancels).
        return Result(EventStatus.PROCESSED, Reason.NOTHING_TO_RESTORE)
    return _once(event, appointment, "restore", _restore)


def appointment_update(event: InboundEvent) -> Result:
    """Cancelled → restore; otherwise keep the stored booking's start time and status current
    (a `noshow` keeps its deduction)."""
    appointment = _appointment(event)
    status = appointment.get("appointmentStatus") or ""
    if status == AppointmentStatus.CANCELLED:
        return appointment_cancel(event)
    kept = (AppointmentStatus.NOSHOW, AppointmentStatus.SHOWED, AppointmentStatus.COMPLETED)
    found = services.appointment_update(
        location=event.location,
        external_id=str(appointment["id"]),
        start_time=_time(appointment.get("startTime")),
        status=status if status in kept else None,
    )
    if not found:
        return Result(EventStatus.IGNORED, EventReason.APPOINTMENT_NOT_FOUND)
    return Result(EventStatus.PROCESSED, EventReason.APPOINTMENT_UPDATED)
