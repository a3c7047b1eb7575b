"""POST /api/v2/entitlements/deduct (SPEC §3.7)."""

import pytest

from entitlements.models import Appointment, Entitlement, LedgerEntry

from .conftest import ENGINE_REFUSALS, POSTS, move_body


def test_deduct_returns_lot_and_remaining_balance(api, member):
    body = api.post_json(POSTS["deduct"], move_body(amount=4)).json()
    assert (body["ok"], body["reason_code"]) == (True, "deducted")
    assert body["balance_after"] == 6
    assert body["entitlement_id"] == member["entitlement_id"]


def test_deduct_writes_one_api_ledger_entry_with_request_id(api, member):
    api.post_json(POSTS["deduct"], move_body(request_id="d-1"))
    entry = LedgerEntry.objects.get(kind="deduct")
    assert (entry.amount, entry.source, entry.request_id) == (-1, "api", "d-1")


def test_deduct_with_external_ref_records_the_appointment(api, member):
    api.post_json(
        POSTS["deduct"], move_body(external_ref="apt-9", appointment_time="2030-03-01T10:00:00Z")
    )
    appointment = Appointment.objects.get()
    assert (appointment.external_id, appointment.source, appointment.calendar_id) == (
        "apt-9",
        "api",
        "cal_pack",
    )
    assert appointment.credits_deducted == 1


def test_deduct_by_product_config_id(api, package, member):
    body = move_body(product_config_id=package.public_id)
    del body["calendar_id"]
    assert api.post_json(POSTS["deduct"], body).json()["balance_after"] == 9


@pytest.mark.parametrize("code", ENGINE_REFUSALS)
def test_deduct_refusal_is_http_200_and_changes_nothing(api, refusal, code):
    response = api.post_json(POSTS["deduct"], move_body(**refusal(code)))
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["reason_code"]) == (False, code)
    assert not LedgerEntry.objects.filter(kind="deduct").exists()
    assert Entitlement.objects.get().credits_remaining == 10


def test_deduct_to_zero_then_insufficient(api, member):
    api.post_json(POSTS["deduct"], move_body(amount=10))
    body = api.post_json(POSTS["deduct"], move_body()).json()
    assert (body["reason_code"], body["balance"]) == ("INSUFFICIENT_CREDITS", 0)
