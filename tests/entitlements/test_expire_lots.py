from entitlements import services
from entitlements.models import LedgerEntry, LedgerKind, LotStatus
from tests.entitlements.helpers import T0, deduct, grant, hours, lot

DAY = hours(24)


def test_sweep_marks_lots_past_expiry_and_zeroes_them(location, membership):
    granted = grant(location, membership).entitlement_id
    deduct(location, calendar_id="cal_member")
    assert services.expire_lots(now=T0 + 31 * DAY) == 1
    entry = LedgerEntry.objects.get(kind=LedgerKind.EXPIRE)
    assert (entry.amount, entry.balance_after, entry.source) == (-3, 0, "system")
    assert lot(granted).status == LotStatus.EXPIRED


def test_sweep_leaves_lots_not_yet_due(location, membership, package):
    grant(location, membership)
    grant(location, package)
    assert services.expire_lots(now=T0 + 30 * DAY) == 0


def test_sweep_is_idempotent(location, membership):
    grant(location, membership)
    services.expire_lots(now=T0 + 40 * DAY)
    assert services.expire_lots(now=T0 + 41 * DAY) == 0


def test_sweep_handles_more_lots_than_one_batch(location, membership):
    for contact in ("a", "b", "c"):
        grant(location, membership, contact=contact)
    assert services.expire_lots(now=T0 + 40 * DAY, batch=2) == 3
