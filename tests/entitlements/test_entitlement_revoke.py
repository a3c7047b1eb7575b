from entitlements import services
from entitlements.models import LedgerEntry, LedgerKind, LotStatus, Source
from tests.entitlements.helpers import T0, check, deduct, grant, lot


def test_revoke_takes_the_remaining_credits_with_a_revoke_entry(location, package, admin_user):
    granted = grant(location, package).entitlement_id
    deduct(location, calendar_id="cal_pack", amount=3)
    actor = services.Actor(source=Source.ADMIN, user=admin_user, note="refunded")
    assert services.entitlement_revoke(entitlement=lot(granted), actor=actor, now=T0)
    entry = LedgerEntry.objects.get(kind=LedgerKind.REVOKE)
    assert (entry.amount, entry.balance_after, entry.contact_balance_after) == (-7, 0, 0)
    assert (entry.source, entry.actor, entry.note) == ("admin", admin_user, "refunded")


def test_revoked_lot_is_never_usable_again(location, package):
    granted = grant(location, package).entitlement_id
    grant(location, package)
    services.entitlement_revoke(entitlement=lot(granted), actor=services.SYSTEM, now=T0)
    assert lot(granted).status == LotStatus.REVOKED
    assert check(location, calendar_id="cal_pack", amount=11).balance == 10


def test_revoking_twice_is_refused(location, package):
    granted = grant(location, package).entitlement_id
    services.entitlement_revoke(entitlement=lot(granted), actor=services.SYSTEM, now=T0)
    assert not services.entitlement_revoke(entitlement=lot(granted), actor=services.SYSTEM)
    assert LedgerEntry.objects.filter(kind=LedgerKind.REVOKE).count() == 1
