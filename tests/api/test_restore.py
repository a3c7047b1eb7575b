"""POST /api/v2/entitlements/restore (SPEC §3.8, §2.4)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import BillingStatus
from entitlements.models import Entitlement, LedgerEntry
from locations.models import LocationStatus

from .conftest import POSTS, move_body


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


@pytest.fixture
def booked(api, member):
    """m1 deducted 1 credit for booking `apt-1`, two days ahead."""
    api.post_json(
        POSTS["deduct"], move_body(external_ref="apt-1", appointment_time=_iso(timedelta(days=2)))
    )
    return member


def test_restore_gives_the_credit_back_to_the_same_lot(api, booked):
    body = api.post_json(POSTS["restore"], move_body(external_ref="apt-1")).json()
    assert (body["ok"], body["reason_code"]) == (True, "restored")
    assert body["balance_after"] == 10
    assert body["entitlement_id"] == booked["entitlement_id"]


def test_restore_without_external_ref_uses_last_deducted_lot(api, booked):
    body = api.post_json(POSTS["restore"], move_body()).json()
    assert (body["reason_code"], body["balance_after"]) == ("restored", 10)


def test_restore_writes_restore_entry(api, booked):
    api.post_json(POSTS["restore"], move_body(external_ref="apt-1", request_id="r-1"))
    entry = LedgerEntry.objects.get(kind="restore")
    assert (entry.amount, entry.source, entry.request_id) == (1, "api", "r-1")


def test_restore_for_unknown_contact_is_no_entitlement(api, booked):
    body = api.post_json(POSTS["restore"], move_body(external_contact_id="nobody")).json()
    assert body["reason_code"] == "NO_ENTITLEMENT"


def test_restore_inside_cancellation_window_is_refused(api, booked):
    body = move_body(external_ref="apt-2", appointment_time=_iso(timedelta(hours=3)))
    response = api.post_json(POSTS["restore"], body)
    assert response.json()["reason_code"] == "CANCELLATION_WINDOW_EXPIRED"
    assert Entitlement.objects.get().credits_remaining == 9


def test_restore_uses_stored_appointment_time_for_the_window(api, member):
    api.post_json(
        POSTS["deduct"],
        move_body(external_ref="apt-soon", appointment_time=_iso(timedelta(hours=1))),
    )
    body = api.post_json(POSTS["restore"], move_body(external_ref="apt-soon")).json()
    assert body["reason_code"] == "CANCELLATION_WINDOW_EXPIRED"


def test_second_restore_of_same_booking_is_nothing_to_restore(api, booked):
    api.post_json(POSTS["restore"], move_body(external_ref="apt-1"))
    body = api.post_json(POSTS["restore"], move_body(external_ref="apt-1")).json()
    assert body["reason_code"] == "NOTHING_TO_RESTORE"


def test_restore_with_nothing_deducted_is_nothing_to_restore(api, member):
    body = api.post_json(POSTS["restore"], move_body()).json()
    assert body["reason_code"] == "NOTHING_TO_RESTORE"


def test_restore_to_expired_lot_is_refused(api, booked):
    Entitlement.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    body = api.post_json(POSTS["restore"], move_body(external_ref="apt-1")).json()
    assert body["reason_code"] == "ENTITLEMENT_EXPIRED"


def test_restore_with_unknown_config_is_config_not_found(api, booked):
    body = api.post_json(POSTS["restore"], move_body(product_config_id="pc_missing")).json()
    assert body["reason_code"] == "CONFIG_NOT_FOUND"


def test_restore_when_billing_suspended_is_refused(api, workspace, booked):
    workspace.billing_status = BillingStatus.SUSPENDED
    workspace.save()
    body = api.post_json(POSTS["restore"], move_body(external_ref="apt-1")).json()
    assert body["reason_code"] == "BILLING_SUSPENDED"


def test_restore_for_inactive_location_is_refused(api, location, booked):
    location.status = LocationStatus.DISCONNECTED
    location.save()
    body = api.post_json(POSTS["restore"], move_body(external_ref="apt-1")).json()
    assert body["reason_code"] == "LOCATION_INACTIVE"
