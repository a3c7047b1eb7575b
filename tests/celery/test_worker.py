"""Webhooks processed by a real Celery worker over Redis, and exactly once after a kill."""

import json
from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.utils import timezone

from entitlements import services
from entitlements.models import Contact, LedgerEntry
from inbox.models import EventStatus, InboundEvent
from inbox.tasks import sweep_stuck_events
from tests.celery.conftest import wait_for
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db(transaction=True)

AVA = "ghl_contact_ava"


def post(live_server, signer, payload) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(
        f"{live_server.url}/webhooks/ghl",
        data=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "X-GHL-Signature": signer.ed25519_header(body),
        },
    )


def test_worker_processes_a_signed_purchase_posted_over_http(
    live_server, ghl_signer, workers, location, pack
):
    worker = workers()
    response = post(live_server, ghl_signer, ghl_event("InvoicePaid"))
    assert response.status_code == 200
    wait_for(lambda: balance(location, AVA) == 10, what="the grant", worker=worker)
    assert InboundEvent.objects.get().status == EventStatus.PROCESSED


def test_worker_killed_mid_processing_leaves_the_booking_deducted_exactly_once(
    live_server, ghl_signer, workers, location, pack, settings
):
    services.credits_grant(
        location=location,
        contact_key=AVA,
        product_config_id=pack.public_id,
        payment=services.Payment("seed"),
        actor=services.SYSTEM,
    )
    booking = ghl_event("AppointmentCreate")
    booking["appointment"]["startTime"] = (timezone.now() + timedelta(days=3)).isoformat()
    first = workers()
    with transaction.atomic():
        # Hold the contact's row lock: the worker claims the event, then blocks inside the
        # deduction, mid-processing, where we kill it.
        Contact.objects.select_for_update().get(location=location, external_id=AVA)
        assert post(live_server, ghl_signer, booking).status_code == 200
        wait_for(
            lambda: InboundEvent.objects.filter(status=EventStatus.PROCESSING).exists(),
            what="the worker to claim the event",
            worker=first,
        )
        first.kill()
    event = InboundEvent.objects.get()
    assert (event.status, balance(location, AVA)) == (EventStatus.PROCESSING, 10)

    second = workers()
    settings.INBOUND_EVENT_STUCK_SECONDS = 0  # the beat sweeper, without waiting 5 minutes
    assert sweep_stuck_events() == 1
    wait_for(
        lambda: InboundEvent.objects.get().status == EventStatus.PROCESSED,
        what="the re-enqueued event",
        worker=second,
    )
    assert LedgerEntry.objects.filter(kind="deduct").count() == 1
    assert balance(location, AVA) == 9
