"""Bearer tokens (401 UNAUTHENTICATED) and scopes (403 SCOPE_REQUIRED), SPEC §3.1–3.2."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiClient, Scope
from api.services import api_client_create, api_client_deactivate, api_client_rotate

from .conftest import POSTS, READS, body_for, read_url


def _deduct_with(header: str | None, **extra):
    client = APIClient()
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    return client.post(POSTS["deduct"], {"location_id": "loc_main"}, format="json", **extra)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token ktly_00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000000",
        "Bearer not-a-token",
        "Bearer ktly_123_456",
        "Bearer ktly_" + "a" * 300,
        "Bearer ktly_00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000000",
    ],
)
def test_missing_malformed_or_unknown_token_is_401(db, header):
    response = _deduct_with(header)
    assert response.status_code == 401
    assert response.json()["reason_code"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_with_wrong_secret_is_401(token):
    client_part = token.rsplit("_", 1)[0]
    response = _deduct_with(f"Bearer {client_part}_00000000-0000-0000-0000-000000000000")
    assert response.status_code == 401


def test_rotated_away_token_is_401_and_new_token_works(location, token, package):
    client = ApiClient.objects.get(location=location)
    new_token = api_client_rotate(client=client)
    old = _deduct_with(f"Bearer {token}")
    new = _deduct_with(f"Bearer {new_token}")
    assert old.status_code == 401
    assert new.status_code == 400  # authenticated; the body is what is wrong


def test_deactivated_token_is_401(location, token):
    api_client_deactivate(client=ApiClient.objects.get(location=location))
    assert _deduct_with(f"Bearer {token}").status_code == 401


def test_401_on_a_get_endpoint_uses_the_envelope(db):
    response = APIClient().get(read_url("m1", "/summary"))
    assert response.status_code == 401
    assert set(response.json()) == {"ok", "reason_code", "message", "correlation_id"}


@pytest.mark.parametrize("endpoint", ["grants", "check", "deduct", "restore"])
def test_post_without_its_scope_is_403_scope_required(location, package, endpoint):
    others = [s for s in Scope.values if s != {"grants": "grant"}.get(endpoint, endpoint)]
    _, raw = api_client_create(location=location, name="narrow", scopes=others)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(POSTS[endpoint], body_for(endpoint, package), format="json")
    assert response.status_code == 403
    assert response.json()["reason_code"] == "SCOPE_REQUIRED"


@pytest.mark.parametrize("suffix", READS)
def test_read_without_summary_scope_is_403_scope_required(location, suffix):
    _, raw = api_client_create(location=location, name="writer", scopes=["grant", "deduct"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get(read_url("m1", suffix))
    assert response.status_code == 403
    assert response.json()["reason_code"] == "SCOPE_REQUIRED"


def test_token_with_only_the_needed_scope_is_accepted(location, package):
    _, raw = api_client_create(location=location, name="checker", scopes=["check"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(POSTS["check"], body_for("check", package), format="json")
    assert response.status_code == 200


def test_first_call_records_last_used_at(api, location):
    api.get(read_url("m1", ""))
    assert ApiClient.objects.get(location=location).last_used_at is not None


def test_last_used_at_is_written_at_most_once_a_minute(api, location):
    recent = timezone.now() - timedelta(seconds=30)
    ApiClient.objects.filter(location=location).update(last_used_at=recent)
    api.get(read_url("m1", ""))
    assert ApiClient.objects.get(location=location).last_used_at == recent


def test_last_used_at_moves_after_a_minute(api, location):
    stale = timezone.now() - timedelta(minutes=2)
    ApiClient.objects.filter(location=location).update(last_used_at=stale)
    api.get(read_url("m1", ""))
    assert ApiClient.objects.get(location=location).last_used_at > stale
