"""request_id once-only semantics through HTTP (SPEC §3.3)."""

import pytest

from entitlements.models import Entitlement, IdempotencyRecord, LedgerEntry
from entitlements.services import Actor, Payment, credits_grant
from tests.factories import ProductConfigFactory

from .conftest import POSTS, grant_body, move_body


@pytest.mark.parametrize("endpoint", ["deduct", "restore"])
def test_replay_returns_same_status_and_body_with_replayed_header(api, member, endpoint):
    body = move_body(request_id="same-1")
    first = api.post_json(POSTS[endpoint], body)
    again = api.post_json(POSTS[endpoint], body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


def test_replay_keeps_original_correlation_id_in_body_and_header(api, member):
    body = move_body(request_id="same-2")
    first = api.post_json(POSTS["deduct"], body)
    again = api.post_json(POSTS["deduct"], body, HTTP_X_CORRELATION_ID="another-trace-id")
    assert again.json()["correlation_id"] == first.json()["correlation_id"]
    assert again["X-Correlation-Id"] == first["X-Correlation-Id"]


def test_replayed_deduct_moves_credits_once(api, member):
    body = move_body(request_id="same-3", amount=2)
    for _ in range(3):
        api.post_json(POSTS["deduct"], body)
    assert LedgerEntry.objects.filter(kind="deduct").count() == 1
    assert Entitlement.objects.get().credits_remaining == 8


def test_replayed_grant_grants_once(api, package):
    body = grant_body(package, request_id="same-g")
    first = api.post_json(POSTS["grants"], body)
    again = api.post_json(POSTS["grants"], body)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Entitlement.objects.count() == 1


def test_refusal_is_stored_and_replayed_even_after_state_changes(api, package, member):
    body = move_body(request_id="same-4", amount=11)
    first = api.post_json(POSTS["deduct"], body)
    api.post_json(POSTS["grants"], grant_body(package))  # now 20 credits would be enough
    again = api.post_json(POSTS["deduct"], body)
    assert first.json()["reason_code"] == "INSUFFICIENT_CREDITS"
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_same_request_id_with_other_body_is_422(api, member):
    api.post_json(POSTS["deduct"], move_body(request_id="same-5"))
    response = api.post_json(POSTS["deduct"], move_body(request_id="same-5", amount=2))
    assert response.status_code == 422
    assert response.json()["reason_code"] == "REQUEST_ID_REUSED"
    assert LedgerEntry.objects.filter(kind="deduct").count() == 1


def test_same_request_id_for_other_operation_is_422(api, member):
    body = move_body(request_id="same-6")
    api.post_json(POSTS["deduct"], body)
    response = api.post_json(POSTS["restore"], body)
    assert response.status_code == 422
    assert response.json()["reason_code"] == "REQUEST_ID_REUSED"


def test_request_id_of_a_grant_cannot_be_reused_for_deduct(api, member):
    grant_request_id = LedgerEntry.objects.get(kind="grant").request_id
    response = api.post_json(POSTS["deduct"], move_body(request_id=grant_request_id))
    assert response.json()["reason_code"] == "REQUEST_ID_REUSED"


def test_request_id_is_scoped_to_the_location(api, member, stranger_location, stranger_token):
    config = ProductConfigFactory(location=stranger_location)
    credits_grant(
        location=stranger_location,
        contact_key="m1",
        product_config_id=config.public_id,
        payment=Payment(external_payment_id="x"),
        actor=Actor(),
    )
    api.post_json(POSTS["deduct"], move_body(request_id="shared-id"))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {stranger_token}")
    response = api.post_json(
        POSTS["deduct"], move_body(request_id="shared-id", location_id="loc_stranger")
    )
    assert response.json()["reason_code"] == "deducted"


def test_4xx_is_not_stored_so_a_fixed_request_runs(api, member):
    broken = api.post_json(POSTS["deduct"], move_body(request_id="fix-1", amount="2"))
    fixed = api.post_json(POSTS["deduct"], move_body(request_id="fix-1", amount=2))
    assert broken.status_code == 400
    assert fixed.json()["reason_code"] == "deducted" and "Idempotent-Replayed" not in fixed


def test_forbidden_location_is_not_stored(api, member, stranger_location):
    api.post_json(POSTS["deduct"], move_body(request_id="fix-2", location_id="loc_stranger"))
    assert not IdempotencyRecord.objects.filter(request_id="fix-2").exists()
