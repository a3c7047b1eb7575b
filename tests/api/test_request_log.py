"""The API request log: every authenticated call kept with its answer, shown to the
workspace on the API Clients page, filterable and searchable, purged after the retention."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ApiRequest
from api.tasks import purge_api_requests

from .conftest import POSTS, move_body, read_url


@pytest.fixture
def fresh(member):
    """The cast's member, its grant request left out of the log."""
    ApiRequest.objects.all().delete()


def test_refused_deduct_is_logged_with_its_reason_and_request_id(api, fresh):
    api.post_json(POSTS["deduct"], move_body(amount=11, request_id="d-big"))
    row = ApiRequest.objects.get()
    assert (row.method, row.path, row.status, row.ok) == (
        "POST",
        "/api/v2/entitlements/deduct",
        200,
        False,
    )
    assert (row.reason_code, row.request_id, row.contact_key) == (
        "INSUFFICIENT_CREDITS",
        "d-big",
        "m1",
    )


def test_a_write_and_its_replay_are_logged_once_each(api, fresh):
    """The write's row is stored with its response; the replay's by the answer's end."""
    first = api.post_json(POSTS["deduct"], move_body(request_id="d-twice"))
    again = api.post_json(POSTS["deduct"], move_body(request_id="d-twice"))
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    rows = ApiRequest.objects.order_by("id").values_list("request_id", "status", "reason_code")
    assert list(rows) == [("d-twice", 200, "deducted"), ("d-twice", 200, "deducted")]


def test_a_write_that_fails_is_logged_as_its_500_only(api, fresh, monkeypatch):
    """The row stored with the response rolls back with it; the 500 is logged instead."""
    from entitlements import idempotency

    def boom(*args, **kwargs):
        raise RuntimeError("after the credit change")

    monkeypatch.setattr(idempotency._INSERT, "run", boom)
    response = api.post_json(POSTS["deduct"], move_body(request_id="d-crash"))
    assert response.status_code == 500
    assert list(ApiRequest.objects.values_list("request_id", "status")) == [("d-crash", 500)]


def test_validation_error_and_read_are_logged(api, fresh):
    api.post_json(POSTS["deduct"], {"location_id": "loc_main"})
    api.get(read_url("m1", "/ledger"))
    assert sorted(ApiRequest.objects.values_list("status", "reason_code", "contact_key")) == [
        (200, "ledger_loaded", "m1"),
        (400, "VALIDATION_ERROR", ""),
    ]


def test_unauthenticated_call_is_not_logged(client, fresh):
    client.post(POSTS["deduct"], {}, content_type="application/json")
    assert not ApiRequest.objects.exists()


@pytest.fixture
def login(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def logged(api, fresh):
    api.post_json(POSTS["deduct"], move_body(request_id="ok-1"))
    api.post_json(POSTS["deduct"], move_body(amount=50, request_id="big-1"))


@pytest.mark.parametrize(
    "params, request_ids",
    [
        ({}, ["big-1", "ok-1"]),
        ({"outcome": "refused"}, ["big-1"]),
        ({"outcome": "ok"}, ["ok-1"]),
        ({"q": "insufficient_credits"}, ["big-1"]),
        ({"q": "ok-1"}, ["ok-1"]),
    ],
)
def test_request_log_filters_and_search(login, viewer, logged, params, request_ids):
    response = login(viewer).get(reverse("api-request-log"), params)
    assert [r.request_id for r in response.context["page"].object_list] == request_ids


def test_request_log_shows_only_the_workspace_requests(login, stranger, logged):
    response = login(stranger).get(reverse("api-request-log"))
    assert "No API requests yet" in response.content.decode()


def test_purge_keeps_the_retention_period(settings, logged):
    ApiRequest.objects.filter(request_id="ok-1").update(
        created_at=timezone.now() - timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS + 1)
    )
    assert purge_api_requests() == 1
    assert list(ApiRequest.objects.values_list("request_id", flat=True)) == ["big-1"]
