"""GHL bookings → credits (SPEC §5.3): AppointmentCreate / AppointmentUpdate /
AppointmentDelete (docs/webhook events/Appointment*.md of GHL's docs; statuses from
apps/calendars.json).

What a status change does to credits is decided in one place, TRANSITIONS, by the phase of
the status before and after:

- HOLDS (new, confirmed, active, showed, completed): the booking uses a credit;
- KEEPS (noshow): a credit it used stays used, but being reported a no-show charges nothing;
- RELEASES (cancelled, invalid, and any deleted booking): a credit it used is given back per
  the cancellation window when *restore on cancel* is on.

A DEDUCT only runs when the booking holds no credit and a RESTORE only when it holds one, so a
booking never holds more than one. Each confirmation (entering HOLDS) is its own deduct with
its own request id — `ghl:appt:<id>:deduct`, then `...:deduct:2`, ... — and its release is
`ghl:appt:<id>:restore`, `...:restore:2`: a cancelled booking confirmed again deducts again,
and a redelivery of any transition changes nothing.

Order: GHL stamps each state with `dateUpdated`. A report older than the state already applied
is stale and changes nothing — except the one thing in-order delivery would have done: when
the booking held a credit before the newer state and no confirmation was ever charged (its
creation arrives after its cancellation), it is charged now and the newer state applied again
(a cancel then restores per the window). A deleted booking takes no later reports.
"""

from datetime import datetime

from entitlements import events, services
from entitlements.idempotency import run_once
from entitlements.models import Appointment, AppointmentStatus, ProductConfig, Source
from entitlements.outcomes import BillingSuspended, Reason
from entitlements.purchases import advisory_xact_lock
from inbox.models import EventReason, EventStatus, InboundEvent
from inbox.processing import InvalidPayload, Result
from locations.models import Location

from .handlers import payload_time, required

S = AppointmentStatus
HOLDS, KEEPS, RELEASES = "holds", "keeps", "releases"
PHASE = {
    S.NEW: HOLDS,
    S.CONFIRMED: HOLDS,
    S.ACTIVE: HOLDS,
    S.SHOWED: HOLDS,
    S.COMPLETED: HOLDS,
    S.BOOKED: HOLDS,  # an API booking's status, should GHL report the same id
    S.NOSHOW: KEEPS,
    S.CANCELLED: RELEASES,
    S.INVALID: RELEASES,
}
DEDUCT, RESTORE, NOTHING = "deduct", "restore", "nothing"
# (phase before — None when first seen —, phase after) → what happens to credits.
# fmt: off
TRANSITIONS = {
    (None, HOLDS): DEDUCT,
    (None, KEEPS): NOTHING,  # reported a no-show before Kotally saw it booked: charge nothing
    (None, RELEASES): NOTHING,  # created cancelled or invalid
    (HOLDS, HOLDS): NOTHING,  # new → confirmed → showed: one credit all along
    (HOLDS, KEEPS): NOTHING,  # no-show keeps the deduction
    (HOLDS, RELEASES): RESTORE,
    (KEEPS, HOLDS): DEDUCT,  # only if it holds nothing (first seen as a no-show)
    (KEEPS, KEEPS): NOTHING,
    (KEEPS, RELEASES): RESTORE,  # the window decides (a past booking is outside it)
    (RELEASES, HOLDS): DEDUCT,  # confirmed again after a cancel: a new confirmation
    (RELEASES, KEEPS): NOTHING,
    (RELEASES, RELEASES): NOTHING,
}
# fmt: on
DELETE = "AppointmentDelete"


def _appointment(event: InboundEvent) -> dict:
    appointment = event.payload.get("appointment")
    if not isinstance(appointment, dict):
        raise InvalidPayload("no appointment object")
    for key in ("id", "calendarId", "contactId"):
        required(appointment, key, "appointment")
    return appointment


def _status(event: InboundEvent, appointment: dict) -> str:
    if event.event_type == DELETE:
        return S.CANCELLED  # whatever status the deleted booking last had
    status = appointment.get("appointmentStatus")
    if status not in PHASE or status == S.BOOKED:
        raise InvalidPayload(f"unknown appointmentStatus {status!r}")
    return status


def _calendar_configured(location: Location, calendar_id: str) -> bool:
    """Any config of the location (removed ones too: the engine then answers
    CONFIG_NOT_FOUND, SPEC §2.3) lists the calendar in its service family."""
    families = ProductConfig.objects.filter(location=location).values_list(
        "calendar_ids", flat=True
    )
    return any(calendar_id in (family or []) for family in families)


def _request_id(appointment_id: str, action: str, confirmation: int) -> str:
    suffix = f":{confirmation}" if confirmation > 1 else ""
    return f"ghl:appt:{appointment_id}:{action}{suffix}"


def _actor(event: InboundEvent, request_id: str) -> services.Actor:
    return services.Actor(
        source=Source.GHL, request_id=request_id, correlation_id=f"evt_{event.pk}"
    )


def _refused(
    event: InboundEvent,
    operation: str,
    request_id: str,
    outcome,
    appointment_id: str,
    appointment: dict,
) -> None:
    """Keep the refusal for the member's page, linked to this event (rolled back with it)."""
    services.refusal_record(
        location=event.location,
        contact_key=str(appointment["contactId"]),
        actor=_actor(event, request_id),
        operation=operation,
        reason_code=outcome.reason_code,
        external_ref=appointment_id,
        calendar_id=str(appointment["calendarId"]),
        inbound_event_pk=event.pk,
    )


def _once(event: InboundEvent, appointment_id: str, action: str, request_id: str, move) -> Result:
    """Run `move(request_id)` once per request id (run_once); the inbox records the event's
    result in the same transaction as the credit change."""

    def execute():
        outcome = move(request_id)
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


def _deduct(event: InboundEvent, stored: Appointment, appointment: dict) -> Result:
    confirmation = stored.confirmations + 1
    appointment_id = stored.external_id

    def move(request_id):
        start = payload_time(appointment.get("startTime")) or stored.start_time
        outcome = services.credits_deduct(
            location=event.location,
            contact_key=str(appointment["contactId"]),
            actor=_actor(event, request_id),
            calendar_id=str(appointment["calendarId"]),
            amount=1,
            external_ref=appointment_id,
            appointment_time=start,
        )
        if not outcome.ok and outcome.reason_code != Reason.BILLING_SUSPENDED:
            # A suspended workspace's booking is held and retried, not refused.
            _refused(event, "deduct", request_id, outcome, appointment_id, appointment)
            events.announce_booking_refused(
                location_pk=event.location.pk,
                request_id=request_id,
                contact_key=str(appointment["contactId"]),
                reason_code=outcome.reason_code,
                source=Source.GHL,
                calendar_id=str(appointment["calendarId"]),
                external_ref=appointment_id,
                appointment_time=start,
            )
        return outcome

    result = _once(
        event, appointment_id, "deduct", _request_id(appointment_id, "deduct", confirmation), move
    )
    services.appointment_update(
        location=event.location, external_id=appointment_id, confirmations=confirmation
    )
    stored.refresh_from_db(fields=["credits_deducted", "confirmations", "start_time"])
    return result


def _restore(event: InboundEvent, stored: Appointment, start_time: datetime | None) -> Result:
    if not event.location.workspace.restore_on_cancel:
        return Result(EventStatus.IGNORED, EventReason.RESTORE_ON_CANCEL_OFF)
    appointment_id = stored.external_id

    def move(request_id):
        outcome = services.credits_restore(
            location=event.location,
            contact_key=stored.contact.external_id,
            actor=_actor(event, request_id),
            calendar_id=stored.calendar_id,
            amount=1,
            external_ref=appointment_id,
            appointment_time=start_time,
        )
        if not outcome.ok and outcome.reason_code != Reason.BILLING_SUSPENDED:
            _refused(
                event,
                "restore",
                request_id,
                outcome,
                appointment_id,
                {"contactId": stored.contact.external_id, "calendarId": stored.calendar_id},
            )
        return outcome

    confirmation = max(stored.confirmations, 1)
    return _once(
        event, appointment_id, "restore", _request_id(appointment_id, "restore", confirmation), move
    )


def _late(event: InboundEvent, stored: Appointment, status: str, appointment: dict) -> Result:
    """A report older than the state already applied (see the module docstring)."""
    newer = stored.status
    charged_never = stored.confirmations == 0 and stored.credits_deducted == 0
    if PHASE[status] != HOLDS or not charged_never or PHASE[newer] == HOLDS:
        return Result(EventStatus.IGNORED, EventReason.STALE_UPDATE)
    result = _deduct(event, stored, appointment)
    if PHASE[newer] == RELEASES and stored.credits_deducted > 0:
        restored = _restore(event, stored, stored.start_time)
        result = restored if restored.status == EventStatus.PROCESSED else result
    # The deduct recorded the booking as booked: it keeps the newer state.
    services.appointment_update(
        location=event.location, external_id=stored.external_id, status=newer
    )
    return result


def _reprocess(event: InboundEvent, stored: Appointment, status: str, appointment: dict) -> Result:
    """*Reprocess* from the Events page, after comping credits or fixing a config: a booking
    that should hold a credit now (and by this event) but holds none — its deduct was
    refused — is charged under its next confirmation's request id. Anything else is already
    as it should be and stays so; once charged, a booking holds its credit, so a second
    Reprocess changes nothing."""
    holds = PHASE[status] == HOLDS and PHASE[stored.status] == HOLDS
    if event.event_type == DELETE or stored.source_deleted or not holds or stored.credits_deducted:
        return Result(EventStatus.IGNORED, EventReason.ALREADY_APPLIED)
    return _deduct(event, stored, appointment)


def appointment_event(event: InboundEvent) -> Result:
    """AppointmentCreate / AppointmentUpdate / AppointmentDelete of a configured calendar."""
    appointment = _appointment(event)
    status = _status(event, appointment)
    location = event.location
    if not _calendar_configured(location, str(appointment["calendarId"])):
        return Result(EventStatus.IGNORED, EventReason.CALENDAR_NOT_CONFIGURED)
    appointment_id = str(appointment["id"])
    # Serialize every report of one booking: each decides from the state the last one left.
    advisory_xact_lock(f"appointment:{location.pk}:{appointment_id}")
    start_time = payload_time(appointment.get("startTime"))
    updated_at = payload_time(appointment.get("dateUpdated"))
    deleted = event.event_type == DELETE
    stored, created = services.appointment_seen(
        location=location,
        external_id=appointment_id,
        contact_key=str(appointment["contactId"]),
        calendar_id=str(appointment["calendarId"]),
        start_time=start_time,
        status=status,
        source=Source.GHL,
    )
    if event.reprocessed_at is not None and not created:
        return _reprocess(event, stored, status, appointment)
    stale = (
        not created
        and not deleted
        and (
            stored.source_deleted
            or bool(
                updated_at and stored.source_updated_at and updated_at < stored.source_updated_at
            )
        )
    )
    if deleted and stored.source_deleted:
        return Result(EventStatus.IGNORED, Reason.DUPLICATE_EVENT)
    if stale:
        return _late(event, stored, status, appointment)

    action = TRANSITIONS[(None if created else PHASE[stored.status], PHASE[status])]
    holding = stored.credits_deducted > 0
    result = None
    if action == DEDUCT and not holding:
        result = _deduct(event, stored, appointment)
    elif action == RESTORE and holding:
        result = _restore(event, stored, start_time or stored.start_time)
    changed = (
        created
        or deleted
        or status != stored.status
        or (start_time is not None and start_time != stored.start_time)
    )
    newest = max(filter(None, (updated_at, stored.source_updated_at)), default=None)
    services.appointment_update(
        location=location,
        external_id=appointment_id,
        start_time=start_time,
        status=status,
        source_updated_at=newest,
        source_deleted=deleted or None,
    )
    if result is not None:
        return result
    if created:
        return Result(EventStatus.PROCESSED, EventReason.APPOINTMENT_RECORDED)
    if changed:
        return Result(EventStatus.PROCESSED, EventReason.APPOINTMENT_UPDATED)
    return Result(EventStatus.IGNORED, Reason.DUPLICATE_EVENT)
