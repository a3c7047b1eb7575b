"""AppointmentCreate/Update/Delete → deduct and restore through run_once (SPEC §5.3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entitlements.models import Appointment
from inbox.models import EventStatus, InboundEvent
from tests.ghl.signing import balance, entries, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"
APPT = "appt_0Gl4qMt8sWDmTP1tY0zq"


@pytest.fixture
def ava_has_a_pack(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    assert balance(location, AVA) == 10


def appointment(name: str, *, hours_ahead: float = 72, **fields) -> dict:
    payload = ghl_event(name)
    start = timezone.now() + timedelta(hours=hours_ahead)
    payload["appointment"].update(startTime=start.isoformat(), **fields)
    return payload


def last_event() -> InboundEvent:
    return InboundEvent.objects.order_by("pk").last()


def test_booking_on_a_configured_calendar_deducts_one_credit(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate"))
    assert balance(location, AVA) == 9
    assert Appointment.objects.get().external_id == APPT
    assert (last_event().status, last_event().reason_code) == (EventStatus.PROCESSED, "deducted")


def test_redelivered_booking_deducts_once(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate"))
    post_ghl(appointment("AppointmentCreate"))  # same appointment, new webhookId
    assert entries(location, "deduct") == 1
    assert (last_event().status, last_event().reason_code) == (
        EventStatus.IGNORED, "DUPLICATE_EVENT")


def test_booking_on_another_calendar_is_ignored(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate", calendarId="cal_yoga"))
    assert balance(location, AVA) == 10
    assert (last_event().status, last_event().reason_code) == (
        EventStatus.IGNORED, "CALENDAR_NOT_CONFIGURED")


def test_booking_without_credits_records_the_refusal(post_ghl, location, pack):
    post_ghl(appointment("AppointmentCreate"))
    assert last_event().reason_code == "NO_ENTITLEMENT"


def test_cancel_inside_the_window_restores_the_credit(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate"))
    post_ghl(appointment("AppointmentUpdate"))
    assert balance(location, AVA) == 10
    assert last_event().reason_code == "restored"


def test_cancel_too_close_to_the_start_keeps_the_deduction(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate", hours_ahead=5))
    post_ghl(appointment("AppointmentUpdate", hours_ahead=5))
    assert balance(location, AVA) == 9
    assert last_event().reason_code == "CANCELLATION_WINDOW_EXPIRED"


def test_deleted_appointment_restores_once(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate"))
    post_ghl(appointment("AppointmentDelete"))
    post_ghl(appointment("AppointmentUpdate"))  # a cancel after the delete changes nothing
    assert entries(location, "restore") == 1
    assert last_event().reason_code == "DUPLICATE_EVENT"


def test_cancel_is_ignored_when_restore_on_cancel_is_off(post_ghl, location, ava_has_a_pack):
    location.workspace.restore_on_cancel = False
    location.workspace.save()
    post_ghl(appointment("AppointmentCreate"))
    post_ghl(appointment("AppointmentUpdate"))
    assert balance(location, AVA) == 9
    assert last_event().reason_code == "RESTORE_ON_CANCEL_OFF"


def test_cancel_of_a_booking_that_never_deducted_restores_nothing(post_ghl, location,
                                                                 ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate", id="appt_other"))
    post_ghl(appointment("AppointmentUpdate"))
    assert balance(location, AVA) == 9
    assert last_event().reason_code == "NOTHING_TO_RESTORE"


def test_rescheduled_booking_updates_the_stored_start_time(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate"))
    moved = appointment("AppointmentUpdate", hours_ahead=120, appointmentStatus="confirmed")
    post_ghl(moved)
    stored = Appointment.objects.get()
    assert stored.start_time.isoformat() == moved["appointment"]["startTime"]
    assert last_event().reason_code == "appointment_updated"


def test_no_show_keeps_the_deduction(post_ghl, location, ava_has_a_pack):
    post_ghl(appointment("AppointmentCreate"))
    post_ghl(appointment("AppointmentUpdate", appointmentStatus="noshow"))
    assert balance(location, AVA) == 9
    assert Appointment.objects.get().status == "noshow"


def test_booking_without_an_appointment_object_fails_as_invalid(post_ghl, location, pack):
    post_ghl(ghl_event("AppointmentCreate", appointment=None))
    assert (last_event().status, last_event().reason_code) == (
        EventStatus.FAILED, "INVALID_PAYLOAD")
