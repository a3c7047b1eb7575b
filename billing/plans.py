"""The plan, as data (SPEC §6.1): $59/month with the first active location, $19 per extra."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    base_cents: int
    additional_location_cents: int
    currency: str = "usd"


PLAN = Plan(name="Kotally", base_cents=5900, additional_location_cents=1900)


def monthly_price_cents(active_locations: int, plan: Plan = PLAN) -> int:
    """Price preview: nothing without an active location, then base + each additional one."""
    if active_locations <= 0:
        return 0
    return plan.base_cents + (active_locations - 1) * plan.additional_location_cents
