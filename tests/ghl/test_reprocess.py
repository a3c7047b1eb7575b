"""Reprocess (inbox.processing.reprocess, Events page): a refused GHL booking is charged once
the member has credits, never twice; its refusal is kept for the member's page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entitlements.models import LedgerEntry, Refusal
from inbox.models import EventStatus, InboundEvent
from inbox.processing import reprocess
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"


@pytest.fixture
def booking(post_ghl):
    def post(name="AppointmentCreate", status="confirmed", minute=0):
        payload = ghl_event(name)
        payload["appointment"].update(
            appointmentStatus=status,
            startTime=(timezone.now() + timedelta(days=3)).isoformat(),
            dateUpdated=f"2026-03-02T10:{minute:02d}:00+00:00",
        )
        post_ghl(payload)
        return InboundEvent.objects.order_by("pk").last()

    return post


@pytest.fixture
def run_again(django_capture_on_commit_callbacks):
    def run(event):
        with django_capture_on_commit_callbacks(execute=True):
            queued = reprocess(event)
        event.refresh_from_db()
        return queued

    return run


def deducts(location) -> int:
    return LedgerEntry.objects.filter(location=location, kind="deduct").count()


def test_refused_booking_is_recorded_for_the_member_with_its_event(booking, location, pack):
    event = booking()
    refusal = Refusal.objects.get()
    assert (refusal.contact.external_id, refusal.reason_code) == (AVA, "NO_ENTITLEMENT")
    assert (refusal.source, refusal.inbound_event_pk) == ("ghl", event.pk)


def test_reprocess_after_a_purchase_charges_the_refused_booking(
    booking, post_ghl, run_again, location, pack
):
    event = booking()
    post_ghl(ghl_event("InvoicePaid"))
    assert run_again(event)
    assert (event.status, event.reason_code) == (EventStatus.PROCESSED, "deducted")
    assert event.reprocessed_at is not None
    assert balance(location, AVA) == 9


def test_reprocess_twice_charges_once(booking, post_ghl, run_again, location, pack):
    event = booking()
    post_ghl(ghl_event("InvoicePaid"))
    run_again(event)
    run_again(event)
    assert (event.status, event.reason_code) == (EventStatus.IGNORED, "already_applied")
    assert deducts(location) == 1


def test_reprocess_of_a_booking_cancelled_since_charges_nothing(
    booking, post_ghl, run_again, location, pack
):
    event = booking()
    booking("AppointmentUpdate", "cancelled", minute=5)
    post_ghl(ghl_event("InvoicePaid"))
    run_again(event)
    assert deducts(location) == 0


def test_reprocess_still_refused_records_the_refusal_again(booking, run_again, location, pack):
    event = booking()
    run_again(event)
    assert event.reason_code == "NO_ENTITLEMENT"
    assert Refusal.objects.count() == 2


def test_reprocess_of_an_unfinished_event_does_nothing(location):
    event = InboundEvent.objects.create(
        provider="ghl", event_id="e1", location=location, payload={}, status=EventStatus.HELD
    )
    assert reprocess(event) is False
