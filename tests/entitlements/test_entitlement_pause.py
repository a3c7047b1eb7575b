from entitlements import services
from entitlements.models import LotStatus
from tests.entitlements.helpers import T0, check, grant, hours, lot

DAY = hours(24)


def test_pause_makes_the_lot_unusable(location, membership):
    granted = grant(location, membership).entitlement_id
    assert services.entitlement_pause(entitlement=lot(granted), now=T0)
    assert lot(granted).status == LotStatus.PAUSED


def test_resume_moves_expiry_later_by_the_time_spent_paused(location, membership):
    granted = grant(location, membership).entitlement_id
    services.entitlement_pause(entitlement=lot(granted), now=T0 + DAY)
    services.entitlement_resume(entitlement=lot(granted), now=T0 + 11 * DAY)
    resumed = lot(granted)
    assert (resumed.status, resumed.paused_at) == (LotStatus.ACTIVE, None)
    assert resumed.expires_at == T0 + 41 * DAY


def test_resumed_lot_is_usable_after_its_original_expiry(location, membership):
    granted = grant(location, membership).entitlement_id
    services.entitlement_pause(entitlement=lot(granted), now=T0)
    services.entitlement_resume(entitlement=lot(granted), now=T0 + 10 * DAY)
    assert check(location, calendar_id="cal_member", now=T0 + 35 * DAY).ok


def test_paused_lot_is_not_expired_by_the_sweep(location, membership):
    granted = grant(location, membership).entitlement_id
    services.entitlement_pause(entitlement=lot(granted), now=T0)
    assert services.expire_lots(now=T0 + 40 * DAY) == 0
    assert lot(granted).status == LotStatus.PAUSED


def test_resume_of_a_lot_without_expiry_keeps_it_unexpiring(location, package):
    granted = grant(location, package).entitlement_id
    services.entitlement_pause(entitlement=lot(granted), now=T0)
    services.entitlement_resume(entitlement=lot(granted), now=T0 + DAY)
    assert lot(granted).expires_at is None


def test_pausing_a_lot_past_its_expiry_is_refused(location, membership):
    granted = grant(location, membership).entitlement_id
    assert not services.entitlement_pause(entitlement=lot(granted), now=T0 + 31 * DAY)


def test_pausing_twice_changes_nothing_the_second_time(location, membership):
    granted = grant(location, membership).entitlement_id
    services.entitlement_pause(entitlement=lot(granted), now=T0)
    assert not services.entitlement_pause(entitlement=lot(granted), now=T0 + DAY)
    assert lot(granted).paused_at == T0


def test_resuming_an_active_lot_is_refused(location, membership):
    granted = grant(location, membership).entitlement_id
    assert not services.entitlement_resume(entitlement=lot(granted), now=T0)


def test_pause_config_pauses_every_lot_of_that_contact_and_config(location, membership, package):
    grant(location, membership)
    grant(location, membership)
    pack = grant(location, package).entitlement_id
    contact = lot(pack).contact
    changed = services.entitlements_pause_config(
        contact=contact, product_config=membership, pause=True, now=T0
    )
    assert changed == 2
    assert lot(pack).status == LotStatus.ACTIVE


def test_resume_config_resumes_them_all(location, membership):
    first = grant(location, membership).entitlement_id
    grant(location, membership)
    contact = lot(first).contact
    services.entitlements_pause_config(
        contact=contact, product_config=membership, pause=True, now=T0
    )
    changed = services.entitlements_pause_config(
        contact=contact, product_config=membership, pause=False, now=T0 + DAY
    )
    assert changed == 2
    assert check(location, calendar_id="cal_member", now=T0 + DAY).balance_after == 7
