"""The GHL write-back against a fake GHL at the HTTP layer (`responses`): the "Kotally
credits" field and the kotally-* tags follow the balance; a burst makes one update; a 429 is
retried."""

import json
from datetime import timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from entitlements.models import ContactActivity
from integrations_ghl import client as ghl_client
from integrations_ghl import writeback
from integrations_ghl.models import ContactSync, Installation
from tests.entitlements.helpers import T0, deduct, grant
from tests.factories import ProductConfigFactory

from .conftest import API, make_installation

pytestmark = pytest.mark.django_db
AVA = "ghl_contact_ava"
FIELDS = f"{API}/locations/ghl_loc_1/customFields"
CONTACT = f"{API}/contacts/{AVA}"
TAGS = f"{CONTACT}/tags"


@pytest.fixture
def installation(workspace, settings):
    return make_installation(
        workspace, scopes=" ".join(settings.GHL_SCOPES), writeback_enabled=True
    )


@pytest.fixture
def pack(installation):
    """10 credits, low at 2, never expiring."""
    return ProductConfigFactory(location=installation.location, low_credits_threshold=2)


@pytest.fixture
def fake_ghl(ghl):
    """GHL answering the write-back's calls; the location has no Kotally field yet."""
    ghl.add(responses.GET, FIELDS, json={"customFields": [{"id": "f_other", "name": "Pincode"}]})
    ghl.add(
        responses.POST, FIELDS, json={"customField": {"id": "f_credits", "name": "Kotally credits"}}
    )
    ghl.add(responses.PUT, CONTACT, json={"succeded": True, "contact": {"id": AVA}})
    ghl.add(responses.POST, TAGS, status=201, json={"tags": []})
    ghl.add(responses.DELETE, TAGS, json={"tags": []})
    return ghl


@pytest.fixture
def scheduled(monkeypatch, django_capture_on_commit_callbacks):
    """Run engine calls with their after-commit events; syncs the write-back schedules are
    recorded instead of sent to the broker (run them with `writeback.sync`)."""
    syncs = []
    monkeypatch.setattr(
        "integrations_ghl.writeback_tasks.sync_contact.apply_async",
        lambda args, countdown: syncs.append((args[0], countdown)),
    )

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return syncs

    return run


def writes(ghl, start=0):
    """The write calls GHL received since call number `start`: (method, path, body)."""
    return [
        (c.request.method, c.request.url.removeprefix(API), json.loads(c.request.body))
        for c in ghl.calls[start:]
        if c.request.method != "GET"
    ]


def step(ghl, scheduled, action):
    start = len(ghl.calls)
    syncs = scheduled(action)
    writeback.sync(sync_pk=syncs[-1][0], now=T0)
    return writes(ghl, start)


def test_field_and_tags_follow_the_balance(installation, pack, fake_ghl, scheduled):
    location = installation.location
    first = step(fake_ghl, scheduled, lambda: grant(location, pack, AVA))
    assert first == [
        (
            "POST",
            "/locations/ghl_loc_1/customFields",
            {"name": "Kotally credits", "dataType": "NUMERICAL", "model": "contact"},
        ),
        ("PUT", f"/contacts/{AVA}", {"customFields": [{"id": "f_credits", "field_value": 10}]}),
        # the first sync clears any Kotally tag the contact should not carry
        (
            "DELETE",
            f"/contacts/{AVA}/tags",
            {"tags": ["kotally-expiring-soon", "kotally-low-credits", "kotally-no-credits"]},
        ),
    ]
    low = step(fake_ghl, scheduled, lambda: deduct(location, AVA, calendar_id="cal_pack", amount=8))
    assert low == [
        ("PUT", f"/contacts/{AVA}", {"customFields": [{"id": "f_credits", "field_value": 2}]}),
        ("POST", f"/contacts/{AVA}/tags", {"tags": ["kotally-low-credits"]}),
    ]
    zero = step(
        fake_ghl, scheduled, lambda: deduct(location, AVA, calendar_id="cal_pack", amount=2)
    )
    assert zero == [
        ("PUT", f"/contacts/{AVA}", {"customFields": [{"id": "f_credits", "field_value": 0}]}),
        ("POST", f"/contacts/{AVA}/tags", {"tags": ["kotally-no-credits"]}),
        ("DELETE", f"/contacts/{AVA}/tags", {"tags": ["kotally-low-credits"]}),
    ]
    again = step(fake_ghl, scheduled, lambda: grant(location, pack, AVA))
    assert again == [
        ("PUT", f"/contacts/{AVA}", {"customFields": [{"id": "f_credits", "field_value": 10}]}),
        ("DELETE", f"/contacts/{AVA}/tags", {"tags": ["kotally-no-credits"]}),
    ]


def test_credits_expiring_within_the_window_are_tagged(installation, fake_ghl, scheduled):
    soon = ProductConfigFactory(location=installation.location, expiry_days=5)
    assert ("POST", f"/contacts/{AVA}/tags", {"tags": ["kotally-expiring-soon"]}) in step(
        fake_ghl, scheduled, lambda: grant(installation.location, soon, AVA)
    )


def test_a_burst_of_deducts_makes_one_update(installation, pack, fake_ghl, scheduled):
    location = installation.location
    step(fake_ghl, scheduled, lambda: grant(location, pack, AVA))

    def burst():
        for _ in range(3):
            deduct(location, AVA, calendar_id="cal_pack")

    start = len(fake_ghl.calls)
    syncs = scheduled(burst)
    assert len(syncs) == 2  # the grant's, then one for the whole burst
    writeback.sync(sync_pk=syncs[-1][0], now=T0)
    assert writes(fake_ghl, start) == [
        ("PUT", f"/contacts/{AVA}", {"customFields": [{"id": "f_credits", "field_value": 7}]})
    ]


def test_a_sync_with_nothing_new_writes_nothing(installation, pack, fake_ghl, scheduled):
    syncs = scheduled(lambda: grant(installation.location, pack, AVA))
    writeback.sync(sync_pk=syncs[-1][0], now=T0)
    start = len(fake_ghl.calls)
    assert writeback.sync(sync_pk=syncs[-1][0], now=T0) == []
    assert fake_ghl.calls[start:] == []


def test_an_existing_kotally_field_is_reused(installation, pack, ghl, scheduled):
    ghl.add(
        responses.GET, FIELDS, json={"customFields": [{"id": "f_9", "name": "Kotally Credits"}]}
    )
    ghl.add(responses.PUT, CONTACT, json={})
    ghl.add(responses.DELETE, TAGS, json={})
    step(ghl, scheduled, lambda: grant(installation.location, pack, AVA))
    assert Installation.objects.get().credits_field_id == "f_9"
    assert not [c for c in ghl.calls if c.request.method == "POST"]


def test_a_429_is_retried(installation, pack, ghl, scheduled, monkeypatch):
    waits = []
    monkeypatch.setattr(ghl_client, "_sleep", waits.append)
    Installation.objects.update(credits_field_id="f_credits")
    ghl.add(responses.PUT, CONTACT, status=429, headers={"Retry-After": "2"})
    ghl.add(responses.PUT, CONTACT, json={})
    ghl.add(responses.DELETE, TAGS, json={})
    step(ghl, scheduled, lambda: grant(installation.location, pack, AVA))
    assert [c.request.method for c in ghl.calls] == ["PUT", "PUT", "DELETE"]
    assert waits == [2.0] and ContactSync.objects.get().credits == 10


def test_the_update_is_noted_on_the_members_timeline(installation, pack, fake_ghl, scheduled):
    step(fake_ghl, scheduled, lambda: grant(installation.location, pack, AVA))
    assert ContactActivity.objects.get().message.startswith("GHL field updated: Kotally credits 10")


def test_nothing_is_scheduled_for_a_location_that_did_not_opt_in(
    installation, pack, ghl, scheduled
):
    Installation.objects.update(writeback_enabled=False)
    assert scheduled(lambda: grant(installation.location, pack, AVA)) == []


def test_opting_in_needs_the_write_back_scopes(client, admin_user, workspace):
    make_installation(workspace, scopes="contacts.readonly")
    url = reverse("ghl-writeback", kwargs={"location_id": "ghl_loc_1"})
    client.force_login(admin_user)
    page = client.post(url, {"enabled": "on"}, follow=True)
    assert "Reconnect GoHighLevel first" in page.content.decode()
    assert not Installation.objects.get().writeback_enabled


def test_owners_and_admins_opt_in_and_out(client, admin_user, installation):
    Installation.objects.update(writeback_enabled=False)
    client.force_login(admin_user)
    url = reverse("ghl-writeback", kwargs={"location_id": "ghl_loc_1"})
    client.post(url, {"enabled": "on"})
    assert Installation.objects.get().writeback_enabled
    client.post(url, {})
    assert not Installation.objects.get().writeback_enabled


def test_a_schedule_whose_task_was_lost_is_renewed(installation, pack, fake_ghl, scheduled):
    location = installation.location
    syncs = scheduled(lambda: grant(location, pack, AVA))  # this task never runs
    assert len(scheduled(lambda: deduct(location, AVA, calendar_id="cal_pack"))) == 1
    ContactSync.objects.update(scheduled_at=timezone.now() - timedelta(minutes=16))
    syncs = scheduled(lambda: deduct(location, AVA, calendar_id="cal_pack"))
    assert len(syncs) == 2
