import pytest

from accounts.models import BillingStatus
from entitlements import services
from entitlements.models import Appointment, LedgerEntry, LedgerKind, PaymentOutcome
from locations.models import LocationStatus
from tests.entitlements.helpers import ACTOR, T0, deduct, grant, hours, lot
from tests.factories import MembershipConfigFactory, ProductConfigFactory

# --- consumption order (SPEC §2.2) ------------------------------------------------------------


def test_deduct_takes_from_the_lowest_priority_number_first(location, package):
    cheap = ProductConfigFactory(location=location, priority=10)
    grant(location, package)
    first = grant(location, cheap)
    assert deduct(location, calendar_id="cal_pack").entitlement_id == first.entitlement_id


def test_deduct_takes_the_soonest_expiring_lot_before_later_and_unexpiring(location, package):
    expiring = ProductConfigFactory(location=location, expiry_days=30)
    soon = ProductConfigFactory(location=location, expiry_days=10)
    grant(location, package)
    grant(location, expiring)
    target = grant(location, soon)
    assert deduct(location, calendar_id="cal_pack").entitlement_id == target.entitlement_id


def test_deduct_takes_the_oldest_grant_when_expiry_ties(location, package):
    older = grant(location, package, now=T0 - hours(5))
    grant(location, package)
    assert deduct(location, calendar_id="cal_pack").entitlement_id == older.entitlement_id


def test_deduct_skips_a_lot_too_small_for_the_amount(location, package):
    small = ProductConfigFactory(location=location, priority=10, credits_total=2)
    grant(location, small)
    big = grant(location, package)
    assert deduct(location, calendar_id="cal_pack", amount=3).entitlement_id == big.entitlement_id


def test_deduct_never_splits_one_amount_over_two_lots(location, package):
    grant(location, package)
    grant(location, package)
    outcome = deduct(location, calendar_id="cal_pack", amount=11)
    assert (outcome.reason_code, outcome.balance) == ("INSUFFICIENT_CREDITS", 20)


def test_deduct_with_a_config_uses_only_that_configs_lots(location, package):
    other = ProductConfigFactory(location=location, priority=1)
    grant(location, other)
    mine = grant(location, package)
    outcome = deduct(location, product_config_id=package.public_id)
    assert outcome.entitlement_id == mine.entitlement_id


def test_deduct_moves_one_credit_and_reports_the_family_balance(location, package, membership):
    grant(location, package)
    grant(location, membership)
    outcome = deduct(location, calendar_id="cal_pack", amount=2)
    entry = LedgerEntry.objects.get(kind=LedgerKind.DEDUCT)
    assert (outcome.reason_code, outcome.balance_after) == ("deducted", 8)
    assert (entry.amount, entry.balance_after, entry.contact_balance_after) == (-2, 8, 12)


def test_deduct_with_external_ref_records_the_booking(location, package):
    outcome = grant(location, package)
    deduct(location, calendar_id="cal_pack", external_ref="apt-1", appointment_time=T0 + hours(3))
    booking = Appointment.objects.get(external_id="apt-1")
    assert (booking.credits_deducted, booking.start_time) == (1, T0 + hours(3))
    assert booking.entitlement.public_id == outcome.entitlement_id


@pytest.mark.parametrize("kw", [{"calendar_id": "cal_pack", "amount": 0}, {"amount": 1}])
def test_deduct_without_target_or_with_a_non_positive_amount_is_an_error(location, package, kw):
    grant(location, package)
    with pytest.raises(ValueError):
        deduct(location, **kw)


# --- refusals and their precedence (SPEC §2.3) --------------------------------------------------


def test_billing_suspended_is_refused_first(location, package):
    grant(location, package)
    location.workspace.billing_status = BillingStatus.SUSPENDED
    location.status = LocationStatus.DISCONNECTED
    assert deduct(location, product_config_id="pc_missing").reason_code == "BILLING_SUSPENDED"


@pytest.mark.parametrize(
    "status", [LocationStatus.PENDING, LocationStatus.DISCONNECTED, LocationStatus.REMOVED]
)
def test_inactive_location_comes_before_config_not_found(location, status):
    location.status = status
    assert deduct(location, product_config_id="pc_missing").reason_code == "LOCATION_INACTIVE"


def test_unknown_config_comes_before_an_unknown_contact(location):
    outcome = deduct(location, contact="nobody", product_config_id="pc_missing")
    assert outcome.reason_code == "CONFIG_NOT_FOUND"


def test_removed_config_is_not_found(location, package):
    grant(location, package)
    package.active = False
    package.save()
    assert deduct(location, product_config_id=package.public_id).reason_code == "CONFIG_NOT_FOUND"


def test_calendar_whose_every_matching_lot_has_a_removed_config_is_config_not_found(
    location, package, membership
):
    grant(location, package)
    grant(location, membership)
    package.active = False
    package.save()
    assert deduct(location, calendar_id="cal_pack").reason_code == "CONFIG_NOT_FOUND"


def test_unknown_contact_has_no_entitlement(location, package):
    assert deduct(location, contact="nobody", calendar_id="cal_pack").reason_code == (
        "NO_ENTITLEMENT"
    )


def test_contact_without_any_lot_has_no_entitlement(location, package):
    services.payment_record(
        location=location,
        contact_key="m1",
        payment=services.Payment("x", provider="ghl"),
        outcome=PaymentOutcome.UNMATCHED,
        explanation="no config",
    )
    assert deduct(location, calendar_id="cal_pack").reason_code == "NO_ENTITLEMENT"


def test_contact_whose_only_lot_was_revoked_has_no_entitlement(location, package):
    outcome = grant(location, package)
    services.entitlement_revoke(entitlement=lot(outcome.entitlement_id), actor=ACTOR, now=T0)
    assert deduct(location, calendar_id="cal_pack").reason_code == "NO_ENTITLEMENT"


def test_no_entitlement_comes_before_a_family_mismatch(location, package):
    outcome = deduct(
        location, contact="nobody", product_config_id=package.public_id, calendar_id="cal_member"
    )
    assert outcome.reason_code == "NO_ENTITLEMENT"


def test_credits_for_another_calendar_are_a_family_mismatch(location, package):
    grant(location, package)
    assert deduct(location, calendar_id="cal_member").reason_code == "SERVICE_FAMILY_MISMATCH"


def test_config_with_a_calendar_outside_its_family_is_a_mismatch(location, package):
    grant(location, package)
    outcome = deduct(location, product_config_id=package.public_id, calendar_id="cal_member")
    assert outcome.reason_code == "SERVICE_FAMILY_MISMATCH"


def test_family_mismatch_comes_before_paused(location, package, membership):
    grant(location, package)
    member = grant(location, membership)
    services.entitlement_pause(entitlement=lot(member.entitlement_id), now=T0)
    outcome = deduct(location, product_config_id=membership.public_id, calendar_id="cal_pack")
    assert outcome.reason_code == "SERVICE_FAMILY_MISMATCH"


def test_spent_lots_for_another_calendar_are_still_a_mismatch(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", amount=10)
    assert deduct(location, calendar_id="cal_member").reason_code == "SERVICE_FAMILY_MISMATCH"


def test_all_matching_lots_paused_is_entitlement_paused(location, membership):
    outcome = grant(location, membership)
    services.entitlement_pause(entitlement=lot(outcome.entitlement_id), now=T0)
    refusal = deduct(location, calendar_id="cal_member")
    assert (refusal.reason_code, refusal.balance) == ("ENTITLEMENT_PAUSED", 0)


def test_paused_comes_before_expired(location, membership):
    grant(location, membership, now=T0 - hours(24 * 40))
    current = grant(location, membership)
    services.entitlement_pause(entitlement=lot(current.entitlement_id), now=T0)
    assert deduct(location, calendar_id="cal_member").reason_code == "ENTITLEMENT_PAUSED"


def test_paused_beats_a_spent_active_lot(location, membership):
    grant(location, membership)
    deduct(location, calendar_id="cal_member", amount=4)
    paused = grant(location, membership)
    services.entitlement_pause(entitlement=lot(paused.entitlement_id), now=T0)
    assert deduct(location, calendar_id="cal_member").reason_code == "ENTITLEMENT_PAUSED"


def test_usable_credits_win_over_a_paused_lot(location, membership):
    grant(location, membership)
    paused = grant(location, membership)
    services.entitlement_pause(entitlement=lot(paused.entitlement_id), now=T0)
    assert deduct(location, calendar_id="cal_member").ok


def test_lot_past_its_expiry_is_unusable_before_the_sweep(location, membership):
    grant(location, membership)
    outcome = deduct(location, calendar_id="cal_member", now=T0 + hours(24 * 31))
    assert outcome.reason_code == "ENTITLEMENT_EXPIRED"


def test_swept_lot_is_expired(location, membership):
    grant(location, membership)
    services.expire_lots(now=T0 + hours(24 * 32))
    outcome = deduct(location, calendar_id="cal_member", now=T0 + hours(24 * 32))
    assert outcome.reason_code == "ENTITLEMENT_EXPIRED"


def test_expired_comes_before_insufficient_when_the_other_lots_are_spent(location, membership):
    grant(location, membership, now=T0 - hours(24 * 40))
    grant(location, membership)
    deduct(location, calendar_id="cal_member", amount=4)
    assert deduct(location, calendar_id="cal_member").reason_code == "ENTITLEMENT_EXPIRED"


def test_spent_lots_are_insufficient(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", amount=10)
    outcome = deduct(location, calendar_id="cal_pack")
    assert (outcome.reason_code, outcome.balance) == ("INSUFFICIENT_CREDITS", 0)


def test_refusal_changes_nothing(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", amount=11, external_ref="apt-x")
    assert LedgerEntry.objects.count() == 1
    assert not Appointment.objects.exists()


def test_lot_of_a_removed_config_does_not_count_for_the_calendar(location, package):
    other = MembershipConfigFactory(location=location, calendar_ids=["cal_pack"], priority=1)
    grant(location, other)
    kept = grant(location, package)
    other.active = False
    other.save()
    assert deduct(location, calendar_id="cal_pack").entitlement_id == kept.entitlement_id


def test_booking_reference_of_another_member_is_never_taken_over(location, package):
    grant(location, package, contact="m1")
    grant(location, package, contact="m2")
    deduct(location, contact="m1", calendar_id="cal_pack", external_ref="shared-ref")
    second = deduct(location, contact="m2", calendar_id="cal_pack", external_ref="shared-ref")
    assert second.ok
    assert Appointment.objects.get(external_id="shared-ref").contact.external_id == "m1"
