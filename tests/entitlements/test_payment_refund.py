"""payment_refund: a refunded, voided or disputed purchase gives back its unused credits."""

from entitlements import services
from entitlements.models import LedgerEntry, LedgerKind, LotStatus, PaymentEvent
from tests.entitlements.helpers import ACTOR, T0, assert_ledger_consistent, deduct, grant, lot


def refund(location, payment="inv-1", **kw):
    return services.payment_refund(
        location=location,
        provider="automation",
        external_payment_id=payment,
        actor=ACTOR,
        now=T0,
        **kw,
    )


def test_full_refund_of_an_unused_pack_takes_every_credit_back(location, package):
    granted = grant(location, package, payment="inv-1").entitlement_id
    outcome = refund(location)
    assert (outcome.reason_code, outcome.credits_changed, outcome.credits_used) == (
        "refund_applied",
        10,
        0,
    )
    assert (lot(granted).credits_remaining, lot(granted).status) == (0, LotStatus.REVOKED)
    assert LedgerEntry.objects.get(kind=LedgerKind.REVOKE).amount == -10
    assert PaymentEvent.objects.get().outcome == "refunded"


def test_used_credits_are_reported_and_never_driven_negative(location, package):
    granted = grant(location, package, payment="inv-1").entitlement_id
    deduct(location, calendar_id="cal_pack", amount=3)
    outcome = refund(location)
    assert (outcome.credits_changed, outcome.credits_used) == (7, 3)
    assert lot(granted).credits_remaining == 0
    assert "7 credits taken back, 3 already used" in PaymentEvent.objects.get().explanation
    assert_ledger_consistent()


def test_partial_refunds_are_cumulative_and_idempotent(location, package):
    granted = grant(location, package, payment="inv-1", amount_cents=10000).entitlement_id
    assert refund(location, refunded_cents=5000).credits_changed == 5
    assert refund(location, refunded_cents=5000).credits_changed == 0  # a redelivery
    assert lot(granted).status == LotStatus.ACTIVE
    assert refund(location, refunded_cents=10000).credits_changed == 5
    assert (lot(granted).credits_remaining, lot(granted).status) == (0, LotStatus.REVOKED)


def test_a_second_full_refund_takes_nothing_more(location, package):
    grant(location, package, payment="inv-1")
    refund(location)
    assert refund(location).credits_changed == 0
    assert LedgerEntry.objects.filter(kind=LedgerKind.REVOKE).count() == 1


def test_refund_of_a_payment_that_granted_nothing_is_refused(location, package):
    assert refund(location, payment="never-seen").reason_code == "PAYMENT_NOT_GRANTED"
    assert not LedgerEntry.objects.exists()
