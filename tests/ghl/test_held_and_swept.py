"""Held events — billing suspended, or their location not linked yet — are released in order;
stuck events are re-enqueued."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import BillingStatus
from billing.services import billing_set_status
from entitlements.models import Contact
from inbox import processing
from inbox.models import EventStatus, InboundEvent
from inbox.tasks import release_held_events, sweep_stuck_events
from locations.services import location_connect_ghl
from tests.factories import ProductConfigFactory
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db

AVA = "ghl_contact_ava"


@pytest.fixture
def suspended(location):
    billing_set_status(workspace=location.workspace, status=BillingStatus.SUSPENDED)
    return location.workspace


def booking() -> dict:
    payload = ghl_event("AppointmentCreate")
    payload["appointment"]["startTime"] = (timezone.now() + timedelta(days=3)).isoformat()
    return payload


def test_events_of_a_suspended_workspace_are_held(post_ghl, location, pack, suspended):
    post_ghl(ghl_event("InvoicePaid"))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.HELD, "BILLING_SUSPENDED")
    assert balance(location, AVA) == 0


def test_held_events_are_released_in_order_when_billing_recovers(
    post_ghl, location, pack, suspended, django_capture_on_commit_callbacks
):
    post_ghl(ghl_event("InvoicePaid"))
    post_ghl(booking())  # only succeeds if the purchase before it is processed first
    with django_capture_on_commit_callbacks(execute=True):
        billing_set_status(workspace=suspended, status=BillingStatus.ACTIVE)
    reasons = list(
        InboundEvent.objects.order_by("received_at").values_list("reason_code", flat=True)
    )
    assert reasons == ["grant_applied", "deducted"]
    assert balance(location, AVA) == 9


def test_new_event_waits_behind_earlier_held_events(post_ghl, location, pack, suspended):
    post_ghl(ghl_event("InvoicePaid"))
    suspended.billing_status = BillingStatus.ACTIVE  # recovered, release not yet run
    suspended.save()
    post_ghl(booking())
    assert list(InboundEvent.objects.values_list("status", flat=True)) == [EventStatus.HELD] * 2


def test_release_skips_workspaces_still_suspended(post_ghl, location, pack, suspended):
    post_ghl(ghl_event("InvoicePaid"))
    assert processing.release_held() == 0
    assert InboundEvent.objects.get().status == EventStatus.HELD


def test_sweeper_reprocesses_an_event_stuck_in_processing(post_ghl, location, pack, settings):
    post_ghl(ghl_event("InvoicePaid"))
    long_ago = timezone.now() - timedelta(minutes=10)
    InboundEvent.objects.update(status=EventStatus.PROCESSING, updated_at=long_ago)
    assert sweep_stuck_events() == 1
    assert InboundEvent.objects.get().status == EventStatus.PROCESSED
    assert balance(location, AVA) == 10  # the re-run found the payment: still one grant


def test_sweeper_leaves_recent_events_alone(post_ghl, location, pack):
    post_ghl(ghl_event("InvoicePaid"))
    InboundEvent.objects.update(status=EventStatus.RECEIVED, updated_at=timezone.now())
    assert sweep_stuck_events() == 0


def test_contact_create_and_update_keep_email_and_name(post_ghl, location):
    post_ghl(ghl_event("ContactCreate"))
    post_ghl(ghl_event("ContactUpdate", email="john.deo@example.com", name="John M. Deo"))
    contact = Contact.objects.get(location=location, external_id=AVA)
    assert (contact.email, contact.name) == ("john.deo@example.com", "John M. Deo")


# --- events for a location that is not linked yet ------------------------------------------------

NEW = "ghl_loc_new"


def link(workspace, django_capture_on_commit_callbacks):
    """The OAuth install links NEW to the workspace (and maps its pack), committing."""
    with django_capture_on_commit_callbacks(execute=True):
        location = location_connect_ghl(workspace=workspace, location_id=NEW)
    return location


def test_event_for_a_location_not_linked_yet_is_held(post_ghl, workspace):
    post_ghl(ghl_event("InvoicePaid", altId=NEW))
    event = InboundEvent.objects.get()
    assert (event.status, event.reason_code) == (EventStatus.HELD, "AWAITING_LOCATION")


def test_held_events_are_replayed_in_order_when_the_location_links(
    post_ghl, workspace, django_capture_on_commit_callbacks
):
    ProductConfigFactory(location__workspace=workspace, location__location_id="loc_other")
    post_ghl(ghl_event("ContactCreate", locationId=NEW))
    post_ghl(ghl_event("InvoicePaid", altId=NEW))
    location = link(workspace, django_capture_on_commit_callbacks)
    reasons = list(InboundEvent.objects.order_by("pk").values_list("reason_code", flat=True))
    assert reasons == ["contact_saved", "unmatched"]
    assert Contact.objects.filter(location=location, external_id=AVA).exists()


def test_event_arriving_before_the_replay_waits_behind_the_held_ones(post_ghl, workspace):
    post_ghl(ghl_event("InvoicePaid", altId=NEW))
    location_connect_ghl(workspace=workspace, location_id=NEW)  # replay not run yet
    post_ghl(ghl_event("ContactCreate", locationId=NEW))
    assert list(InboundEvent.objects.order_by("pk").values_list("reason_code", flat=True)) == [
        "AWAITING_LOCATION",
        "HELD_BEHIND",
    ]
    release_held_events(location_ref=NEW)
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}


def test_periodic_release_replays_events_whose_location_appeared(post_ghl, workspace):
    post_ghl(ghl_event("ContactCreate", locationId=NEW))
    location_connect_ghl(workspace=workspace, location_id=NEW)  # its replay was lost
    assert processing.release_held() == 1
    assert InboundEvent.objects.get().reason_code == "contact_saved"


def test_event_naming_no_location_at_all_is_ignored(post_ghl, location):
    payload = ghl_event("ContactCreate")
    del payload["locationId"]
    post_ghl(payload)
    assert InboundEvent.objects.get().reason_code == "UNKNOWN_LOCATION"
