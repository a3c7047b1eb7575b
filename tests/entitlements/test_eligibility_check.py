from entitlements import services
from entitlements.models import LedgerEntry
from tests.entitlements.helpers import T0, check, deduct, grant, hours, lot


def test_check_names_the_lot_a_deduct_would_use_and_what_would_remain(location, package):
    outcome = grant(location, package)
    answer = check(location, calendar_id="cal_pack", amount=3)
    assert (answer.reason_code, answer.entitlement_id) == ("eligible", outcome.entitlement_id)
    assert answer.balance_after == 7


def test_check_writes_nothing(location, package):
    grant(location, package)
    check(location, calendar_id="cal_pack")
    assert LedgerEntry.objects.count() == 1


def test_check_agrees_with_deduct_on_the_lot(location, package, membership):
    grant(location, package, now=T0 - hours(1))
    grant(location, package)
    expected = check(location, product_config_id=package.public_id).entitlement_id
    assert deduct(location, product_config_id=package.public_id).entitlement_id == expected


def test_check_refusal_reports_the_current_balance(location, package):
    grant(location, package)
    answer = check(location, calendar_id="cal_pack", amount=11)
    assert (answer.reason_code, answer.balance) == ("INSUFFICIENT_CREDITS", 10)


def test_check_sees_a_lot_past_expiry_as_expired(location, membership):
    grant(location, membership)
    answer = check(location, calendar_id="cal_member", now=T0 + hours(24 * 31 + 1))
    assert answer.reason_code == "ENTITLEMENT_EXPIRED"


def test_check_refuses_paused_lots(location, membership):
    outcome = grant(location, membership)
    services.entitlement_pause(entitlement=lot(outcome.entitlement_id), now=T0)
    assert check(location, calendar_id="cal_member").reason_code == "ENTITLEMENT_PAUSED"
