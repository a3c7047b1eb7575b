"""POST /api/v2/entitlements/check-eligibility (SPEC §3.6): no writes, §2.3 refusals."""

import pytest

from entitlements.models import Entitlement, IdempotencyRecord, LedgerEntry

from .conftest import ENGINE_REFUSALS, POSTS, check_body


def test_eligible_returns_lot_and_balance_after_the_would_be_deduct(api, member):
    body = api.post_json(POSTS["check"], check_body(amount=3)).json()
    assert (body["ok"], body["reason_code"]) == (True, "eligible")
    assert body["balance_after"] == 7
    assert body["entitlement_id"] == member["entitlement_id"]


def test_check_by_product_config_id(api, package, member):
    body = check_body(product_config_id=package.public_id)
    del body["calendar_id"]
    assert api.post_json(POSTS["check"], body).json()["reason_code"] == "eligible"


def test_check_writes_nothing(api, member):
    entries = LedgerEntry.objects.count()
    api.post_json(POSTS["check"], check_body())
    assert LedgerEntry.objects.count() == entries
    assert Entitlement.objects.get().credits_remaining == 10


def test_check_needs_no_request_id_and_stores_none(api, member):
    api.post_json(POSTS["check"], check_body(request_id="chk-1"))
    api.post_json(POSTS["check"], check_body(request_id="chk-1"))
    assert not IdempotencyRecord.objects.filter(request_id="chk-1").exists()


@pytest.mark.parametrize("code", ENGINE_REFUSALS)
def test_check_refusal_is_http_200_with_its_reason(api, refusal, code):
    response = api.post_json(POSTS["check"], check_body(**refusal(code)))
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["reason_code"]) == (False, code)
    assert response.json()["message"]


def test_insufficient_credits_reports_current_balance(api, refusal):
    body = api.post_json(POSTS["check"], check_body(**refusal("INSUFFICIENT_CREDITS"))).json()
    assert body["balance"] == 10


def test_config_with_calendar_outside_its_family_is_mismatch(api, package, member):
    body = check_body(product_config_id=package.public_id, calendar_id="cal_member")
    assert api.post_json(POSTS["check"], body).json()["reason_code"] == "SERVICE_FAMILY_MISMATCH"
