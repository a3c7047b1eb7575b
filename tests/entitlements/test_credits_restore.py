import pytest

from accounts.models import BillingStatus
from entitlements import services
from entitlements.models import Appointment, RenewalPolicy
from locations.models import LocationStatus
from tests.entitlements.helpers import ACTOR, T0, deduct, grant, hours, lot, restore
from tests.factories import MembershipConfigFactory, ProductConfigFactory


@pytest.fixture
def two_lots(location, package):
    """Two packs: `apt-1` takes from the older one, 9 more empty it, `apt-2` takes from the
    newer one. Returns their ids (older, newer)."""
    first = grant(location, package, now=T0 - hours(2)).entitlement_id
    second = grant(location, package).entitlement_id
    deduct(location, calendar_id="cal_pack", external_ref="apt-1")
    deduct(location, calendar_id="cal_pack", amount=9)
    deduct(location, calendar_id="cal_pack", external_ref="apt-2")
    return first, second


# --- target lot -------------------------------------------------------------------------------


def test_restore_with_a_reference_returns_to_the_lot_it_was_taken_from(location, two_lots):
    first, _ = two_lots
    outcome = restore(location, calendar_id="cal_pack", external_ref="apt-1")
    assert (outcome.reason_code, outcome.entitlement_id) == ("restored", first)
    assert lot(first).credits_remaining == 1


def test_restore_without_reference_uses_the_most_recently_deducted_lot(location, two_lots):
    _, second = two_lots
    assert restore(location, calendar_id="cal_pack").entitlement_id == second


def test_restore_without_reference_moves_on_once_the_latest_lot_is_made_whole(location, two_lots):
    first, _ = two_lots
    restore(location, calendar_id="cal_pack")
    assert restore(location, calendar_id="cal_pack").entitlement_id == first


def test_restore_without_reference_stays_within_the_config(location, package, membership):
    pack = grant(location, package).entitlement_id
    grant(location, membership)
    deduct(location, calendar_id="cal_pack")
    deduct(location, calendar_id="cal_member")
    assert restore(location, product_config_id=package.public_id).entitlement_id == pack


def test_restore_marks_the_booking_cancelled(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1", amount=2)
    restore(location, calendar_id="cal_pack", external_ref="apt-1", amount=2)
    booking = Appointment.objects.get()
    assert (booking.status, booking.credits_deducted) == ("cancelled", 0)


# --- caps -------------------------------------------------------------------------------------


def test_restore_gives_back_no_more_than_the_reference_took(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", amount=3)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1")
    outcome = restore(location, calendar_id="cal_pack", external_ref="apt-1", amount=5)
    assert (outcome.credits_changed, outcome.balance_after) == (1, 7)


def test_second_restore_of_one_reference_has_nothing_to_restore(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1")
    restore(location, calendar_id="cal_pack", external_ref="apt-1")
    outcome = restore(location, calendar_id="cal_pack", external_ref="apt-1")
    assert outcome.reason_code == "NOTHING_TO_RESTORE"


def test_restore_never_raises_a_lot_above_what_was_granted(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack")
    outcome = restore(location, calendar_id="cal_pack", amount=5)
    assert (outcome.credits_changed, lot(outcome.entitlement_id).credits_remaining) == (1, 10)


def test_restore_of_an_unknown_reference_has_nothing_to_restore(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack")
    outcome = restore(location, calendar_id="cal_pack", external_ref="never-deducted")
    assert outcome.reason_code == "NOTHING_TO_RESTORE"


def test_restore_of_another_contacts_reference_has_nothing_to_restore(location, package):
    grant(location, package, contact="a")
    grant(location, package, contact="b")
    deduct(location, contact="a", calendar_id="cal_pack", external_ref="apt-a")
    outcome = restore(location, contact="b", calendar_id="cal_pack", external_ref="apt-a")
    assert outcome.reason_code == "NOTHING_TO_RESTORE"


def test_restore_with_nothing_deducted_has_nothing_to_restore(location, package):
    grant(location, package)
    assert restore(location, calendar_id="cal_pack").reason_code == "NOTHING_TO_RESTORE"


def test_restore_never_returns_forfeited_credits(location):
    config = MembershipConfigFactory(location=location, renewal_policy=RenewalPolicy.RESET)
    old = grant(location, config).entitlement_id
    deduct(location, calendar_id="cal_member", external_ref="apt-1")
    grant(location, config)
    outcome = restore(location, calendar_id="cal_member", external_ref="apt-1", amount=4)
    assert (outcome.entitlement_id, lot(old).credits_remaining) == (old, 1)


# --- cancellation window (SPEC §2.4) ------------------------------------------------------------


@pytest.fixture
def booked(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1")


@pytest.mark.parametrize(
    "ahead, code",
    [
        (25, "restored"),
        (24, "restored"),
        (23.9, "CANCELLATION_WINDOW_EXPIRED"),
        (-1, "CANCELLATION_WINDOW_EXPIRED"),
    ],
)
def test_default_window_is_24_hours_before_the_appointment(location, booked, ahead, code):
    outcome = restore(location, calendar_id="cal_pack", appointment_time=T0 + hours(ahead))
    assert outcome.reason_code == code


def test_location_window_overrides_the_workspace(location, booked):
    location.cancellation_window_hours = 2
    outcome = restore(location, calendar_id="cal_pack", appointment_time=T0 + hours(3))
    assert outcome.ok


def test_window_zero_disables_the_check_even_for_past_appointments(location, booked):
    location.cancellation_window_hours = 0
    outcome = restore(location, calendar_id="cal_pack", appointment_time=T0 - hours(5))
    assert outcome.ok


def test_stored_appointment_time_is_used_when_none_is_sent(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1", appointment_time=T0 + hours(1))
    outcome = restore(location, calendar_id="cal_pack", external_ref="apt-1")
    assert outcome.reason_code == "CANCELLATION_WINDOW_EXPIRED"


def test_restore_without_any_time_is_allowed(location, booked):
    assert restore(location, calendar_id="cal_pack").ok


def test_window_refusal_comes_before_nothing_to_restore(location, package):
    grant(location, package)
    outcome = restore(location, calendar_id="cal_pack", appointment_time=T0 + hours(1))
    assert outcome.reason_code == "CANCELLATION_WINDOW_EXPIRED"


# --- other refusals ---------------------------------------------------------------------------


def test_restore_to_an_expired_lot_is_refused(location, membership):
    grant(location, membership)
    deduct(location, calendar_id="cal_member", external_ref="apt-1")
    later = T0 + hours(24 * 32)
    services.expire_lots(now=later)
    outcome = restore(location, calendar_id="cal_member", external_ref="apt-1", now=later)
    assert outcome.reason_code == "ENTITLEMENT_EXPIRED"


def test_restore_to_a_lot_past_expiry_is_refused_before_the_sweep(location, membership):
    grant(location, membership)
    deduct(location, calendar_id="cal_member")
    outcome = restore(location, calendar_id="cal_member", now=T0 + hours(24 * 31))
    assert outcome.reason_code == "ENTITLEMENT_EXPIRED"


def test_restore_to_a_paused_lot_keeps_it_paused(location, membership):
    granted = grant(location, membership).entitlement_id
    deduct(location, calendar_id="cal_member")
    services.entitlement_pause(entitlement=lot(granted), now=T0)
    assert restore(location, calendar_id="cal_member").ok
    assert (lot(granted).status, lot(granted).credits_remaining) == ("paused", 4)


def test_restore_to_a_revoked_lot_has_nothing_to_restore(location, package):
    granted = grant(location, package).entitlement_id
    grant(location, package)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1")
    services.entitlement_revoke(entitlement=lot(granted), actor=ACTOR, now=T0)
    outcome = restore(location, calendar_id="cal_pack", external_ref="apt-1")
    assert outcome.reason_code == "NOTHING_TO_RESTORE"


def test_restore_to_a_lot_of_a_removed_config_is_config_not_found(location, package):
    other = ProductConfigFactory(location=location)
    grant(location, other)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1")
    other.active = False
    other.save()
    outcome = restore(location, calendar_id="cal_pack", external_ref="apt-1")
    assert outcome.reason_code == "CONFIG_NOT_FOUND"


def test_restore_with_a_config_and_a_foreign_calendar_is_a_mismatch(location, package, booked):
    outcome = restore(location, product_config_id=package.public_id, calendar_id="cal_member")
    assert outcome.reason_code == "SERVICE_FAMILY_MISMATCH"


def test_restore_for_an_unknown_contact_has_no_entitlement(location, package):
    assert restore(location, contact="nobody", calendar_id="cal_pack").reason_code == (
        "NO_ENTITLEMENT"
    )


def test_restore_for_an_unknown_config_is_config_not_found(location, booked):
    assert restore(location, product_config_id="pc_nope").reason_code == "CONFIG_NOT_FOUND"


def test_restore_is_refused_while_billing_is_suspended(location, booked):
    location.workspace.billing_status = BillingStatus.SUSPENDED
    assert restore(location, calendar_id="cal_pack").reason_code == "BILLING_SUSPENDED"


def test_restore_is_refused_for_an_inactive_location(location, booked):
    location.status = LocationStatus.REMOVED
    assert restore(location, calendar_id="cal_pack").reason_code == "LOCATION_INACTIVE"
