"""AppointmentCreate/Update/Delete → credits, per the transition table of
integrations_ghl/appointments.py (SPEC §5.3): every status GHL documents, every transition
between them, re-confirmation after a cancel, reschedules, and reports arriving out of order."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from entitlements import services
from entitlements.models import Appointment, LedgerEntry
from inbox.models import EventStatus, InboundEvent
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
APPT = "appt_0007BWpSzSwfiuSl0tR2"
T0 = datetime.fromisoformat("2026-03-02T10:00:00+00:00")  # GHL's dateUpdated of the creation
# GHL's appointmentStatus values (apps/calendars.json, AppointmentCreateSchema/EditSchema).
STATUSES = ["new", "confirmed", "showed", "noshow", "cancelled", "invalid"]


@pytest.fixture
def ava_has_a_pack(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    assert balance(location, AVA) == 10


@pytest.fixture
def report(post_ghl):
    """report(name, status, minute=0, hours_ahead=72, **fields): post one delivery of a booking
    whose dateUpdated is T0 + `minute` minutes and whose class starts `hours_ahead` from now
    (the same start for every report of one test unless `hours_ahead` changes)."""
    start = timezone.now().replace(microsecond=0)

    def post(name, status, *, minute=0, hours_ahead=72, **fields):
        payload = ghl_event(name)
        payload["appointment"].update(
            appointmentStatus=status,
            startTime=(start + timedelta(hours=hours_ahead)).isoformat(),
            dateUpdated=(T0 + timedelta(minutes=minute)).isoformat(),
            **fields,
        )
        post_ghl(payload)
        return last_event()

    return post


def last_event() -> InboundEvent:
    return InboundEvent.objects.order_by("pk").last()


def moves(location) -> tuple[int, int]:
    """(deducts, restores) written for the booking."""
    entries = LedgerEntry.objects.filter(location=location, external_ref=APPT)
    return entries.filter(kind="deduct").count(), entries.filter(kind="restore").count()


# --- every status at creation, every transition -----------------------------------------------

# A booking created in this status deducts (1) or not (0).
CREATED = {
    "new": 1,
    "confirmed": 1,
    "showed": 1,
    "noshow": 0,
    "cancelled": 0,
    "invalid": 0,
    # in GHL's response enum only (AppointmentSchemaResponse)
    "active": 1,
    "completed": 1,
}


@pytest.mark.parametrize("status", CREATED)
def test_booking_created_in_each_status(report, location, ava_has_a_pack, status):
    event = report("AppointmentCreate", status)
    assert moves(location) == (CREATED[status], 0)
    assert balance(location, AVA) == 10 - CREATED[status]
    assert Appointment.objects.get().status == status
    assert event.reason_code == ("deducted" if CREATED[status] else "appointment_recorded")


# (deducts, restores) after a booking created in the row's status is updated to the column's:
# a credit is used while the booking is new/confirmed/showed, a no-show keeps one it used but
# is never charged one, cancelled/invalid give it back (the class is 72 h away, inside the
# window's allowance).
# fmt: off
#            new     confirmed showed  noshow  cancelled invalid
TRANSITIONS = {
    "new":       [(1, 0), (1, 0), (1, 0), (1, 0), (1, 1), (1, 1)],
    "confirmed": [(1, 0), (1, 0), (1, 0), (1, 0), (1, 1), (1, 1)],
    "showed":    [(1, 0), (1, 0), (1, 0), (1, 0), (1, 1), (1, 1)],
    "noshow":    [(1, 0), (1, 0), (1, 0), (0, 0), (0, 0), (0, 0)],
    "cancelled": [(1, 0), (1, 0), (1, 0), (0, 0), (0, 0), (0, 0)],
    "invalid":   [(1, 0), (1, 0), (1, 0), (0, 0), (0, 0), (0, 0)],
}
# fmt: on
PAIRS = [
    (before, after, TRANSITIONS[before][i])
    for before in STATUSES
    for i, after in enumerate(STATUSES)
]


@pytest.mark.parametrize(
    ("before", "after", "expected"), PAIRS, ids=[f"{b}-to-{a}" for b, a, _ in PAIRS]
)
def test_every_status_transition(report, location, ava_has_a_pack, before, after, expected):
    report("AppointmentCreate", before)
    report("AppointmentUpdate", after, minute=5)
    deducts, restores = expected
    assert moves(location) == expected
    assert balance(location, AVA) == 10 - deducts + restores
    assert Appointment.objects.get().status == after


@pytest.mark.parametrize(
    ("before", "after", "expected"), PAIRS, ids=[f"{b}-to-{a}" for b, a, _ in PAIRS]
)
def test_every_transition_redelivered_changes_nothing(
    report, location, ava_has_a_pack, before, after, expected
):
    report("AppointmentCreate", before)
    report("AppointmentUpdate", after, minute=5)
    again = report("AppointmentUpdate", after, minute=5)  # a new delivery, same state
    assert moves(location) == expected
    assert (again.status, again.reason_code) == (EventStatus.IGNORED, "DUPLICATE_EVENT")


# --- re-confirmation after a cancel -------------------------------------------------------------


def test_cancelled_booking_confirmed_again_deducts_again(report, location, ava_has_a_pack):
    report("AppointmentCreate", "confirmed")
    report("AppointmentUpdate", "cancelled", minute=5)
    event = report("AppointmentUpdate", "confirmed", minute=10)
    assert moves(location) == (2, 1)
    assert balance(location, AVA) == 9
    assert event.reason_code == "deducted"


def test_each_confirmation_and_its_cancel_has_its_own_request_id(report, location, ava_has_a_pack):
    for minute, status in enumerate(["confirmed", "cancelled", "confirmed", "cancelled"]):
        report("AppointmentUpdate" if minute else "AppointmentCreate", status, minute=minute)
    request_ids = list(
        LedgerEntry.objects.filter(external_ref=APPT)
        .order_by("pk")
        .values_list("request_id", flat=True)
    )
    assert request_ids == [
        f"ghl:appt:{APPT}:deduct",
        f"ghl:appt:{APPT}:restore",
        f"ghl:appt:{APPT}:deduct:2",
        f"ghl:appt:{APPT}:restore:2",
    ]
    assert balance(location, AVA) == 10


def test_refused_booking_confirmed_again_after_a_purchase_deducts(report, post_ghl, location, pack):
    refused = report("AppointmentCreate", "confirmed")
    report("AppointmentUpdate", "cancelled", minute=5)
    post_ghl(ghl_event("InvoicePaid"))
    report("AppointmentUpdate", "confirmed", minute=10)
    assert refused.reason_code == "NO_ENTITLEMENT"
    assert moves(location) == (1, 0)
    assert balance(location, AVA) == 9


def test_cancel_after_a_late_cancel_keeps_the_credit_used_and_reconfirm_charges_nothing(
    report, location, ava_has_a_pack
):
    report("AppointmentCreate", "confirmed", hours_ahead=5)
    late = report("AppointmentUpdate", "cancelled", minute=5, hours_ahead=5)
    report("AppointmentUpdate", "confirmed", minute=10, hours_ahead=5)
    assert late.reason_code == "CANCELLATION_WINDOW_EXPIRED"
    assert moves(location) == (1, 0)  # the credit was never given back: nothing to charge


# --- reschedules, windows, settings -----------------------------------------------------------


def test_rescheduled_booking_updates_its_start_time_only(report, location, ava_has_a_pack):
    report("AppointmentCreate", "confirmed")
    moved = report("AppointmentUpdate", "confirmed", minute=5, hours_ahead=120)
    stored = Appointment.objects.get()
    assert stored.start_time.isoformat() == moved.payload["appointment"]["startTime"]
    assert moved.reason_code == "appointment_updated"
    assert moves(location) == (1, 0)


def test_cancel_too_close_to_the_start_keeps_the_deduction(report, location, ava_has_a_pack):
    report("AppointmentCreate", "confirmed", hours_ahead=5)
    event = report("AppointmentUpdate", "cancelled", minute=5, hours_ahead=5)
    assert balance(location, AVA) == 9
    assert event.reason_code == "CANCELLATION_WINDOW_EXPIRED"


def test_cancel_is_recorded_but_restores_nothing_when_restore_on_cancel_is_off(
    report, location, ava_has_a_pack
):
    location.workspace.restore_on_cancel = False
    location.workspace.save()
    report("AppointmentCreate", "confirmed")
    event = report("AppointmentUpdate", "cancelled", minute=5)
    assert balance(location, AVA) == 9
    assert event.reason_code == "RESTORE_ON_CANCEL_OFF"
    assert Appointment.objects.get().status == "cancelled"


def test_deleted_booking_restores_once_and_takes_no_later_report(report, location, ava_has_a_pack):
    report("AppointmentCreate", "confirmed")
    report("AppointmentDelete", "confirmed", minute=5)  # the status it had when deleted
    later = report("AppointmentUpdate", "confirmed", minute=5)
    assert moves(location) == (1, 1)
    assert (later.status, later.reason_code) == (EventStatus.IGNORED, "STALE_UPDATE")


# --- out of order -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_ahead", "expected"),
    [(72, (1, 1)), (5, (1, 0))],
    ids=["cancel-in-time", "cancel-too-late"],
)
def test_creation_arriving_after_its_cancel_is_charged_then_cancelled(
    report, location, ava_has_a_pack, hours_ahead, expected
):
    report("AppointmentUpdate", "cancelled", minute=5, hours_ahead=hours_ahead)
    report("AppointmentCreate", "confirmed", hours_ahead=hours_ahead)
    assert moves(location) == expected  # what in-order delivery leaves
    assert Appointment.objects.get().status == "cancelled"


def test_creation_arriving_after_a_no_show_is_charged_and_kept(report, location, ava_has_a_pack):
    report("AppointmentUpdate", "noshow", minute=5)
    report("AppointmentCreate", "confirmed")
    assert moves(location) == (1, 0)
    assert Appointment.objects.get().status == "noshow"


def test_older_cancel_arriving_after_the_reconfirmation_changes_nothing(
    report, location, ava_has_a_pack
):
    report("AppointmentCreate", "confirmed")
    report("AppointmentUpdate", "confirmed", minute=10)  # re-confirmed
    stale = report("AppointmentUpdate", "cancelled", minute=5)  # the cancel before it
    assert (stale.status, stale.reason_code) == (EventStatus.IGNORED, "STALE_UPDATE")
    assert balance(location, AVA) == 9
    assert Appointment.objects.get().status == "confirmed"


def test_older_reschedule_never_overwrites_a_newer_start_time(report, location, ava_has_a_pack):
    report("AppointmentCreate", "confirmed")
    newer = report("AppointmentUpdate", "confirmed", minute=10, hours_ahead=120)
    report("AppointmentUpdate", "confirmed", minute=5, hours_ahead=96)
    stored = Appointment.objects.get()
    assert stored.start_time.isoformat() == newer.payload["appointment"]["startTime"]


# --- what is not a booking to count -------------------------------------------------------------


def test_booking_on_another_calendar_is_ignored(report, location, ava_has_a_pack):
    event = report("AppointmentCreate", "confirmed", calendarId="cal_yoga")
    assert balance(location, AVA) == 10
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "CALENDAR_NOT_CONFIGURED")


def test_booking_without_credits_records_the_refusal(report, location, pack):
    assert report("AppointmentCreate", "confirmed").reason_code == "NO_ENTITLEMENT"


def test_status_ghl_does_not_document_fails_as_invalid(report, location, ava_has_a_pack):
    event = report("AppointmentCreate", "rescheduled")
    assert (event.status, event.reason_code) == (EventStatus.FAILED, "INVALID_PAYLOAD")


def test_booking_without_an_appointment_object_fails_as_invalid(post_ghl, location, pack):
    post_ghl(ghl_event("AppointmentCreate", appointment=None))
    assert (last_event().status, last_event().reason_code) == (
        EventStatus.FAILED,
        "INVALID_PAYLOAD",
    )


def test_api_booking_keeps_its_booked_status(location, package):
    services.credits_grant(
        location=location,
        contact_key="m1",
        product_config_id=package.public_id,
        payment=services.Payment(external_payment_id="p1"),
        actor=services.SYSTEM,
    )
    services.credits_deduct(
        location=location,
        contact_key="m1",
        actor=services.SYSTEM,
        calendar_id="cal_pack",
        external_ref="api-booking-1",
    )
    assert Appointment.objects.get().status == "booked"
