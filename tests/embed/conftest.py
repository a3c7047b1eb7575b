"""The embed's cast, on top of tests/conftest.py: `location` and `stranger_location` are GHL
locations here (the embed only opens for those), and

- `studio`: members of loc_main — Ann (`member-1`, 9 of 10 pack credits, one upcoming
  booking), Bob (`member-2`, 1 membership credit expiring in 4 days, a booking tomorrow, one
  refused booking);
- `stranger_studio`: the stranger's `member-1` ("Stranger Sam", 7 credits) and `their-member`;
- `embed_client`: a test client holding an embed session for loc_main, opened through
  /embed/auth with a payload encrypted the CryptoJS way.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from entitlements.models import Source
from entitlements.services import Actor, Payment, credits_deduct, credits_grant
from inbox.models import EventStatus, InboundEvent, Provider
from locations.models import LocationKind
from tests.embed.cryptojs import SECRET, ghl_payload
from tests.factories import LocationFactory, ProductConfigFactory

AUTH = "/embed/auth"


@pytest.fixture(autouse=True)
def _shared_secret(settings):
    settings.GHL_SHARED_SECRET = SECRET
    settings.EMBED_SANDBOX_TOKEN = ""


@pytest.fixture
def location(workspace):
    return LocationFactory(
        workspace=workspace, location_id="loc_main", name="Main Studio", kind=LocationKind.GHL
    )


@pytest.fixture
def stranger_location(stranger_workspace):
    return LocationFactory(
        workspace=stranger_workspace,
        location_id="loc_stranger",
        name="Stranger Gym",
        kind=LocationKind.GHL,
    )


def grant(location, contact_key, config, payment_id, name, **kwargs):
    outcome = credits_grant(
        location=location,
        contact_key=contact_key,
        product_config_id=config.public_id,
        payment=Payment(external_payment_id=payment_id, amount_cents=12000, currency="USD"),
        actor=Actor(source=Source.GHL),
        name=name,
        email=f"{contact_key}@example.com",
        **kwargs,
    )
    assert outcome.ok, outcome


def deduct(location, contact_key, calendar_id, ref, when):
    outcome = credits_deduct(
        location=location,
        contact_key=contact_key,
        calendar_id=calendar_id,
        actor=Actor(source=Source.GHL),
        external_ref=ref,
        appointment_time=when,
    )
    assert outcome.ok, outcome


def refused_booking(location, contact_key, reason="INSUFFICIENT_CREDITS", n=1):
    return InboundEvent.objects.create(
        provider=Provider.GHL,
        event_id=f"wh_refused_{location.pk}_{contact_key}_{n}",
        event_type="AppointmentCreate",
        location=location,
        status=EventStatus.PROCESSED,
        reason_code=reason,
        contact_ref=contact_key,  # as intake reads it from appointment.contactId
        payload={
            "type": "AppointmentCreate",
            "locationId": location.location_id,
            "appointment": {
                "id": f"appt_refused_{n}",
                "calendarId": "cal_member",
                "contactId": contact_key,
            },
        },
    )


@pytest.fixture
def studio(location, package, membership):
    now = timezone.now()
    grant(location, "member-1", package, "ghl:invoice:ann", "Ann Member")
    deduct(location, "member-1", "cal_pack", "appt_ann_1", now + timedelta(days=2))
    grant(
        location,
        "member-2",
        membership,
        "ghl:invoice:bob",
        "Bob Member",
        now=now - timedelta(days=27),
    )
    for n in range(3):  # yesterday, today, tomorrow
        deduct(location, "member-2", "cal_member", f"appt_bob_{n}", now + timedelta(days=n - 1))
    refused_booking(location, "member-2")
    return location


@pytest.fixture
def stranger_studio(stranger_location):
    config = ProductConfigFactory(location=stranger_location, name="Stranger Pack", credits_total=7)
    grant(stranger_location, "member-1", config, "their-pay-1", "Stranger Sam")
    grant(stranger_location, "their-member", config, "their-pay-2", "Their Member")
    refused_booking(stranger_location, "their-member", reason="ENTITLEMENT_PAUSED")
    return stranger_location


def sign_in(client, location_id="loc_main", **context):
    return client.post(
        AUTH, {"payload": ghl_payload(location_id, **context)}, content_type="application/json"
    )


@pytest.fixture
def embed_client(location):
    client = Client()
    assert sign_in(client).status_code == 204
    return client
