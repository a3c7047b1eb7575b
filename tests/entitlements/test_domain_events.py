"""The engine announces what happened, after commit (entitlements.events)."""

from datetime import timedelta

import pytest
from django.db import transaction

from entitlements import events, purchases, services
from entitlements.models import Entitlement, PaymentOutcome, Source
from tests.entitlements.helpers import ACTOR, T0, deduct, grant, restore

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """Events delivered to subscribers (only this recorder) by the commits run in
    `committed()`."""
    seen = []
    monkeypatch.setattr(events, "_subscribers", [events._Subscriber(seen.append, "")])
    return seen


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block registered for after commit, at its end (the
    test's own transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def types(seen):
    return [e.type for e in seen]


def test_a_grant_announces_credits_granted_with_the_balance(
    location, package, published, committed
):
    with committed():
        grant(location, package)
    [event] = published
    assert event.type == "credits.granted" and event.location_pk == location.pk
    assert event.data["balance"] == 10 and event.data["amount"] == 10
    assert event.contact_pk is not None and event.key == event.data["ledger_entry_id"]


def test_deducts_announce_low_once_when_crossing_the_threshold_then_depleted(
    location, package, published, committed
):
    package.low_credits_threshold = 2
    package.save()
    with committed():
        grant(location, package)
        deduct(location, calendar_id="cal_pack", amount=7)  # 3 left: not low yet
        deduct(location, calendar_id="cal_pack")  # 2 left: low
        deduct(location, calendar_id="cal_pack")  # 1 left: still low, not announced again
        deduct(location, calendar_id="cal_pack")  # 0 left: depleted
    assert types(published) == [
        "credits.granted",
        "credits.deducted",
        "credits.deducted",
        "credits.low",
        "credits.deducted",
        "credits.deducted",
        "credits.depleted",
    ]
    low = published[3]
    assert low.data["balance"] == 2 and low.data["low_credits_threshold"] == 2


def test_no_low_announcement_without_a_threshold(location, package, published, committed):
    with committed():
        grant(location, package)
        deduct(location, calendar_id="cal_pack", amount=9)
    assert "credits.low" not in types(published)


def test_restore_revoke_and_expiry_are_announced(
    location, package, membership, published, committed
):
    with committed():
        grant(location, package)
        deduct(location, calendar_id="cal_pack", external_ref="b1")
        restore(location, calendar_id="cal_pack", external_ref="b1")
        services.entitlement_revoke(
            entitlement=Entitlement.objects.get(product_config=package), actor=ACTOR, now=T0
        )
        grant(location, membership)  # 31-day expiry
        services.expire_lots(now=T0 + timedelta(days=32))
    assert types(published)[2:] == [
        "credits.restored",
        "credits.revoked",
        "credits.granted",
        "credits.expired",
    ]


def test_a_refusal_or_a_rollback_announces_nothing(location, package, published, committed):
    with committed():
        deduct(location, calendar_id="cal_pack")  # NO_ENTITLEMENT
        with pytest.raises(RuntimeError), transaction.atomic():
            grant(location, package)
            raise RuntimeError("the caller's transaction fails after the grant")
    assert published == []


def test_expiring_lots_are_announced_once_each(location, membership, published, committed):
    grant(location, membership)  # expires T0 + 31 days
    with committed():
        assert services.announce_expiring(days=7, now=T0 + timedelta(days=20)) == 0
        assert services.announce_expiring(days=7, now=T0 + timedelta(days=25)) == 1
        assert services.announce_expiring(days=7, now=T0 + timedelta(days=26)) == 0
    [event] = published
    assert event.type == "credits.expiring" and event.data["credits_remaining"] == 4


def test_an_unmatched_payment_is_announced_under_one_key_per_payment(
    location, published, committed
):
    purchase = purchases.Purchase(
        location=location,
        provider="ghl",
        source=Source.GHL,
        event_type="InvoicePaid",
        contact_key="m1",
        email="",
        name="",
        is_test=False,
        lines=(
            purchases.PurchaseLine(
                external_payment_id="ghl:invoice:1:a",
                product_ref="GHL product p9",
                configs=(),
                quantity=1,
                amount_cents=5000,
                currency="USD",
                paid_at=T0,
            ),
        ),
    )
    with committed():
        purchases.purchase_settle(purchase)
        purchases.purchase_settle(purchase)  # a redelivery
    first, again = published
    assert first.type == "payment.unmatched" and first.key == again.key
    assert first.data["outcome"] == PaymentOutcome.UNMATCHED and first.data["contact_id"] == "m1"


def test_only_subscribers_interested_in_the_location_are_called_after_one_query(
    location, package, monkeypatch, committed, django_assert_num_queries
):
    """Each subscriber's interest is an SQL condition on the location's key; all of them are
    asked in one query and a handler whose condition is false is not called."""
    called = []
    monkeypatch.setattr(events, "_subscribers", [])
    events.subscribe(lambda e: called.append(("mine", e.type)), interest="%s = " + str(location.pk))
    events.subscribe(lambda e: called.append(("other", e.type)), interest="%s = -1")
    events.subscribe(lambda e: called.append(("always", e.type)))
    event = events.DomainEvent(
        type=events.CREDITS_GRANTED, location_pk=location.pk, data={}, key="k"
    )
    with django_assert_num_queries(1):
        events._deliver(event)
    assert called == [("mine", "credits.granted"), ("always", "credits.granted")]
