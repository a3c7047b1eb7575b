import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.db import connection
from django.utils import timezone

from integrations_ghl import client, installations
from integrations_ghl.client import GhlAuthError
from integrations_ghl.models import Installation
from kotally.lib.crypto import decrypt, encrypt
from locations.models import LocationStatus
from locations.services import location_remove
from tests.factories import WorkspaceFactory

from .conftest import (
    API,
    CALLBACK,
    LOCATION_TOKEN_URL,
    TOKEN_URL,
    make_installation,
    token_answer,
)

CONTACT_URL = f"{API}/contacts/c_1"


def _raw_columns(pk) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_enc, refresh_token_enc FROM "
            "integrations_ghl_installation WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


@pytest.mark.django_db
def test_tokens_are_not_stored_in_plain_text(signed_in, ghl):
    ghl.add(
        responses.POST,
        TOKEN_URL,
        json=token_answer(access_token="plain-acc-XYZ", refresh_token="plain-ref-XYZ"),
    )
    signed_in.get(CALLBACK)
    installation = Installation.objects.get()
    raw_access, raw_refresh = _raw_columns(installation.pk)
    assert "plain-acc-XYZ" not in raw_access and "plain-ref-XYZ" not in raw_refresh
    assert (decrypt(raw_access), decrypt(raw_refresh)) == ("plain-acc-XYZ", "plain-ref-XYZ")


@pytest.mark.django_db
def test_401_refreshes_the_token_once_and_retries(workspace, ghl):
    installation = make_installation(workspace)
    ghl.add(responses.GET, CONTACT_URL, status=401, json={"message": "Invalid JWT"})
    ghl.add(responses.GET, CONTACT_URL, json={"contact": {"id": "c_1", "email": "a@b.c"}})
    ghl.add(
        responses.POST,
        TOKEN_URL,
        json=token_answer(access_token="acc-new", refresh_token="ref-new"),
    )
    contact = client.get_contact(installations.token_source(installation.location), "c_1")
    assert contact["email"] == "a@b.c"
    assert parse_qs(ghl.calls[1].request.body)["refresh_token"] == ["ref-old"]
    assert ghl.calls[2].request.headers["Authorization"] == "Bearer acc-new"
    installation.refresh_from_db()
    assert decrypt(installation.refresh_token_enc) == "ref-new"


@pytest.mark.django_db
def test_invalid_grant_on_refresh_disconnects_the_location(workspace, ghl):
    installation = make_installation(workspace)
    ghl.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(GhlAuthError):
        installations.refresh_installation(installation.pk, stale_token="acc-old")
    installation.refresh_from_db()
    installation.location.refresh_from_db()
    assert not installation.active and installation.refresh_failures == 1
    assert installation.location.status == LocationStatus.DISCONNECTED


@pytest.mark.django_db
def test_transient_refresh_failure_keeps_the_installation_active(workspace, ghl):
    installation = make_installation(workspace)
    ghl.add(responses.POST, TOKEN_URL, status=503)
    with pytest.raises(client.GhlError):
        installations.refresh_installation(installation.pk, stale_token="acc-old")
    installation.refresh_from_db()
    assert installation.active and installation.refresh_failures == 1


@pytest.mark.django_db
def test_periodic_refresh_rotates_only_tokens_close_to_expiry(workspace, ghl):
    soon = make_installation(workspace, expires_in=timedelta(minutes=30))
    later = make_installation(workspace, location_id="ghl_loc_2", expires_in=timedelta(hours=20))
    ghl.add(responses.POST, TOKEN_URL, json=token_answer(access_token="acc-new"))
    assert installations.refresh_expiring() == {"refreshed": 1, "failed": 0}
    soon.refresh_from_db()
    later.refresh_from_db()
    assert installations.current_access_token(soon) == "acc-new"
    assert installations.current_access_token(later) == "acc-old"


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_call_ghl_once_and_both_get_the_new_token(postgres, ghl):
    workspace = WorkspaceFactory()
    installation = make_installation(workspace)
    calls = []

    def slow_refresh(request):
        calls.append(parse_qs(request.body)["refresh_token"][0])
        time.sleep(0.5)  # hold the row lock long enough for the other caller to queue on it
        return (
            200,
            {},
            '{"access_token": "acc-new", "refresh_token": "ref-new", '
            '"expires_in": 86399, "userType": "Location"}',
        )

    ghl.add_callback(
        responses.POST, TOKEN_URL, callback=slow_refresh, content_type="application/json"
    )
    source = installations.token_source(installation.location)
    barrier = threading.Barrier(2)
    results = []

    def caller():
        try:
            barrier.wait()
            results.append(source.refreshed_token("acc-old"))
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    installation.refresh_from_db()
    assert calls == ["ref-old"]
    assert results == ["acc-new", "acc-new"]
    assert decrypt(installation.refresh_token_enc) == "ref-new"


# --- minted location tokens and GHL's "Location is not active" ----------------------------------


@pytest.fixture
def agency(workspace):
    """An agency installation of comp_1 in the workspace: location tokens can be minted."""
    return Installation.objects.create(
        workspace=workspace,
        user_type="Company",
        company_id="comp_1",
        access_token_enc=encrypt("company-acc"),
        refresh_token_enc=encrypt("company-ref"),
        expires_at=timezone.now() + timedelta(hours=20),
    )


@pytest.mark.django_db
def test_refused_refresh_of_an_agency_location_mints_a_new_token(workspace, agency, ghl):
    installation = make_installation(workspace)
    ghl.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    ghl.add(
        responses.POST,
        LOCATION_TOKEN_URL,
        json={"access_token": "acc-minted", "expires_in": 86399, "userId": "u"},
    )
    fresh = installations.refresh_installation(installation.pk, stale_token="acc-old")
    fresh.location.refresh_from_db()
    assert installations.current_access_token(fresh) == "acc-minted"
    assert fresh.active and fresh.location.status == LocationStatus.ACTIVE
    assert ghl.calls[1].request.headers["Authorization"] == "Bearer company-acc"


@pytest.mark.django_db
def test_minted_token_without_refresh_token_is_minted_again(workspace, agency, ghl):
    installation = make_installation(workspace, refresh="", expires_in=timedelta(minutes=30))
    ghl.add(
        responses.POST,
        LOCATION_TOKEN_URL,
        json={"access_token": "acc-minted", "expires_in": 86399, "userId": "u"},
    )
    assert installations.refresh_expiring() == {"refreshed": 1, "failed": 0}
    assert [call.request.url for call in ghl.calls] == [LOCATION_TOKEN_URL]
    installation.refresh_from_db()
    assert installations.current_access_token(installation) == "acc-minted"


@pytest.mark.django_db
def test_location_is_disconnected_when_minting_is_refused_too(workspace, agency, ghl):
    installation = make_installation(workspace)
    ghl.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    ghl.add(responses.POST, LOCATION_TOKEN_URL, status=401, json={"message": "Invalid JWT"})
    with pytest.raises(GhlAuthError):
        installations.refresh_installation(installation.pk, stale_token="acc-old")
    installation.refresh_from_db()
    installation.location.refresh_from_db()
    assert not installation.active
    assert installation.location.status == LocationStatus.DISCONNECTED


LOCATION_NOT_ACTIVE = {"statusCode": 400, "message": "Location is not active"}


@pytest.mark.django_db
def test_location_not_active_keeps_the_installation_and_shows_why(workspace, ghl):
    installation = make_installation(workspace)
    ghl.add(responses.POST, TOKEN_URL, status=400, json=LOCATION_NOT_ACTIVE)
    with pytest.raises(client.GhlLocationInactive) as raised:
        installations.refresh_installation(installation.pk, stale_token="acc-old")
    installation.refresh_from_db()
    installation.location.refresh_from_db()
    assert not raised.value.retryable
    assert installation.active and installation.location.status == LocationStatus.ACTIVE
    assert installation.last_error == "GHL answered 400 on /oauth/token: Location is not active"


@pytest.mark.django_db
def test_location_not_active_is_asked_again_once_a_day(workspace, ghl):
    installation = make_installation(workspace, expires_in=timedelta(minutes=30))
    ghl.add(responses.POST, TOKEN_URL, status=400, json=LOCATION_NOT_ACTIVE)
    first = installations.refresh_expiring()
    second = installations.refresh_expiring()
    next_day = installations.refresh_expiring(now=timezone.now() + timedelta(days=1, minutes=1))
    assert (first, second, next_day) == (
        {"refreshed": 0, "failed": 1},
        {"refreshed": 0, "failed": 0},
        {"refreshed": 0, "failed": 1},
    )
    assert len(ghl.calls) == 2
    assert Installation.objects.get(pk=installation.pk).active


@pytest.mark.django_db
def test_minting_again_leaves_a_removed_location_removed(workspace, agency, ghl):
    installation = make_installation(workspace, refresh="", expires_in=timedelta(minutes=30))
    location_remove(location=installation.location)
    ghl.add(
        responses.POST,
        LOCATION_TOKEN_URL,
        json={"access_token": "acc-minted", "expires_in": 86399, "userId": "u"},
    )
    installations.refresh_expiring()
    installation.location.refresh_from_db()
    assert installation.location.status == LocationStatus.REMOVED
