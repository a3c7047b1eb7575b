"""A hypothesis state machine drives the engine and checks it against a small model.

Rules: grant, deduct, restore, pause, resume, expire_lots and clock jumps, for two members
and four configs sharing two calendars. After every step: SPEC §1 invariants 1 (each lot's
balance equals its ledger, within 0..granted) and 2 (available balance = usable lots), and
the model's view of every lot.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from entitlements import selectors, services
from entitlements.models import Contact, Entitlement, LotStatus, RenewalPolicy
from tests.entitlements.helpers import T0, assert_ledger_consistent, deduct, grant, restore
from tests.factories import LocationFactory, MembershipConfigFactory, ProductConfigFactory

CONTACTS = ("a", "b")
CALENDARS = ("cal_x", "cal_y")


@dataclass
class ModelLot:
    seq: int
    contact: str
    config: object
    granted: int
    remaining: int
    granted_at: datetime
    expires_at: datetime | None
    status: str = LotStatus.ACTIVE
    paused_at: datetime | None = None
    outstanding: int = 0  # deducted and not yet restored
    last_deduct: int = 0  # step number of the newest deduction

    def past_expiry(self, now) -> bool:
        return (
            self.status == LotStatus.ACTIVE
            and self.expires_at is not None
            and (self.expires_at <= now)
        )

    def usable(self, now) -> bool:
        return self.status == LotStatus.ACTIVE and not self.past_expiry(now)

    def order(self):
        far = self.expires_at or self.granted_at
        return (self.config.priority, self.expires_at is None, far, self.granted_at, self.seq)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown: examples never see each
        # other's rows, on SQLite and PostgreSQL alike.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.location = LocationFactory()
        self.configs = [
            ProductConfigFactory(location=self.location, credits_total=5, calendar_ids=["cal_x"]),
            ProductConfigFactory(
                location=self.location, credits_total=3, expiry_days=10, calendar_ids=["cal_x"]
            ),
            MembershipConfigFactory(
                location=self.location,
                monthly_credits=4,
                priority=10,
                renewal_policy=RenewalPolicy.RESET,
                calendar_ids=["cal_y"],
            ),
            MembershipConfigFactory(
                location=self.location,
                monthly_credits=2,
                expiry_days=20,
                calendar_ids=["cal_x", "cal_y"],
            ),
        ]
        self.now = T0
        self.steps = 0
        self.lots: dict[str, ModelLot] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def pick(self, data) -> tuple[str, ModelLot]:
        # Drawn by creation order: public ids are random and would make replays differ.
        return data.draw(st.sampled_from(list(self.lots.items())))

    def family(self, contact, calendar):
        return [
            lot
            for lot in self.lots.values()
            if lot.contact == contact and calendar in lot.config.calendar_ids
        ]

    @initialize(picks=st.lists(st.tuples(st.sampled_from(CONTACTS), st.integers(0, 3)), max_size=6))
    def starting_lots(self, picks):
        # Members start with a few lots, so lot choice matters from the first deduct on.
        for contact, index in picks:
            self.grant(contact, index, 1)

    @rule(contact=st.sampled_from(CONTACTS), index=st.integers(0, 3), quantity=st.integers(1, 2))
    def grant(self, contact, index, quantity):
        config = self.configs[index]
        outcome = grant(self.location, config, contact=contact, quantity=quantity, now=self.now)
        assert outcome.ok
        if config.renewal_policy == RenewalPolicy.RESET:
            for lot in self.lots.values():
                if (
                    lot.contact == contact
                    and lot.config == config
                    and lot.status in (LotStatus.ACTIVE, LotStatus.PAUSED)
                ):
                    lot.remaining = 0
        credits = config.credits_per_grant * quantity
        expires = self.now + timedelta(days=config.expiry_days) if config.expiry_days else None
        self.lots[outcome.entitlement_id] = ModelLot(
            len(self.lots), contact, config, credits, credits, self.now, expires
        )

    @rule(
        contact=st.sampled_from(CONTACTS),
        calendar=st.sampled_from(CALENDARS),
        amount=st.integers(1, 3),
    )
    def deduct(self, contact, calendar, amount):
        self.steps += 1
        ordered = sorted(
            (lot for lot in self.family(contact, calendar) if lot.usable(self.now)),
            key=ModelLot.order,
        )
        expected = next((lot for lot in ordered if lot.remaining >= amount), None)
        outcome = deduct(
            self.location, contact=contact, calendar_id=calendar, amount=amount, now=self.now
        )
        assert outcome.ok == (expected is not None), outcome
        if expected is not None:
            assert self.lots[outcome.entitlement_id] is expected
            expected.remaining -= amount
            expected.outstanding += amount
            expected.last_deduct = self.steps
            assert outcome.balance_after == sum(lot.remaining for lot in ordered)

    @rule(
        contact=st.sampled_from(CONTACTS),
        calendar=st.sampled_from(CALENDARS),
        amount=st.integers(1, 3),
    )
    def restore(self, contact, calendar, amount):
        owed = [lot for lot in self.family(contact, calendar) if lot.outstanding > 0]
        target = max(owed, key=lambda lot: lot.last_deduct, default=None)
        outcome = restore(
            self.location, contact=contact, calendar_id=calendar, amount=amount, now=self.now
        )
        if target is None:
            assert outcome.reason_code in ("NO_ENTITLEMENT", "NOTHING_TO_RESTORE"), outcome
        elif target.status == LotStatus.EXPIRED or target.past_expiry(self.now):
            assert outcome.reason_code == "ENTITLEMENT_EXPIRED", outcome
        else:
            give = min(amount, target.outstanding)
            assert (outcome.ok, outcome.credits_changed) == (True, give), outcome
            assert self.lots[outcome.entitlement_id] is target
            target.remaining += give
            target.outstanding -= give

    @precondition(lambda self: self.lots)
    @rule(data=st.data())
    def pause(self, data):
        public_id, lot = self.pick(data)
        changed = services.entitlement_pause(
            entitlement=Entitlement.objects.get(public_id=public_id), now=self.now
        )
        assert changed == lot.usable(self.now)
        if changed:
            lot.status, lot.paused_at = LotStatus.PAUSED, self.now

    @precondition(lambda self: self.lots)
    @rule(data=st.data())
    def resume(self, data):
        public_id, lot = self.pick(data)
        changed = services.entitlement_resume(
            entitlement=Entitlement.objects.get(public_id=public_id), now=self.now
        )
        assert changed == (lot.status == LotStatus.PAUSED)
        if changed:
            if lot.expires_at is not None:
                lot.expires_at += self.now - lot.paused_at
            lot.status, lot.paused_at = LotStatus.ACTIVE, None

    @rule()
    def expire_lots(self):
        due = [lot for lot in self.lots.values() if lot.past_expiry(self.now)]
        assert services.expire_lots(now=self.now) == len(due)
        for lot in due:
            lot.status, lot.remaining = LotStatus.EXPIRED, 0

    @rule(hours=st.integers(1, 24 * 15))
    def clock_jumps(self, hours):
        self.now += timedelta(hours=hours)

    @invariant()
    def lots_match_the_model_and_their_ledger(self):
        stored = {lot.public_id: lot for lot in Entitlement.objects.filter(location=self.location)}
        assert set(stored) == set(self.lots)
        for public_id, lot in self.lots.items():
            row = stored[public_id]
            assert (row.credits_remaining, row.status, row.expires_at) == (
                lot.remaining,
                lot.status,
                lot.expires_at,
            ), public_id
        assert_ledger_consistent()

    @invariant()
    def available_balance_is_the_sum_of_usable_lots(self):
        for contact in Contact.objects.filter(location=self.location):
            total, _ = selectors.credits_by_config(contact, self.now)
            assert total == sum(
                lot.remaining
                for lot in self.lots.values()
                if lot.contact == contact.external_id and lot.usable(self.now)
            )


@pytest.mark.django_db
def test_engine_matches_its_model_under_random_operations():
    EngineMachine.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    EngineMachine.TestCase().runTest()
