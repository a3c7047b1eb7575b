"""A contact's credits per product config, summed by the database (the contact page and the
API), agree with the same figures computed from loaded lots (the embed's panel)."""

from datetime import timedelta

import pytest

from entitlements import selectors, services
from entitlements.models import Contact
from entitlements.product_configs import product_config_remove
from tests.entitlements.helpers import T0, deduct, grant, hours, lot
from tests.factories import ProductConfigFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(location, package, membership):
    """m1 holds: two lots of the package (one spent), a paused membership lot, an expired
    membership lot, and a lot of a removed config of first priority."""
    grant(location, package)
    deduct(location, calendar_id="cal_pack", amount=10)
    grant(location, package)
    removed = ProductConfigFactory(location=location, name="Old Pack", priority=0)
    grant(location, removed)
    grant(location, membership, now=T0 - timedelta(days=40))
    paused = lot(grant(location, membership).entitlement_id)
    services.entitlement_pause(entitlement=paused, now=T0 + hours(1))
    product_config_remove(config=removed, now=T0 + hours(1))
    return Contact.objects.get(external_id="m1")


def test_sums_agree_with_the_lots_loaded_by_the_embed(history):
    now = T0 + hours(2)
    expected = selectors.credits_of_lots(selectors.contact_lots(history), now)
    assert selectors.credits_by_config(history, now) == expected


def test_a_row_per_config_by_priority_with_what_is_usable(history, package, membership):
    total, rows = selectors.credits_by_config(history, T0 + hours(2))
    assert total == 10
    assert [(r["name"], r["credits_available"]) for r in rows] == [
        ("Old Pack", 0),
        (package.name, 10),
        (membership.name, 0),
    ]


def test_paused_credits_per_config_on_request(history, membership):
    _, rows = selectors.credits_by_config(history, T0 + hours(2), paused=True)
    assert [r["credits_paused"] for r in rows] == [0, 0, 4]
