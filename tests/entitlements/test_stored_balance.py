"""The contact's stored balance (credits_available, credits_expire_at) moves with every
change, in the same transaction: the admin list reads and filters by it."""

from datetime import timedelta

import pytest

from entitlements import services
from entitlements.models import Contact
from entitlements.product_configs import product_config_remove
from tests.entitlements.helpers import T0, deduct, grant, hours, lot

pytestmark = pytest.mark.django_db


def _stored(location, key="m1"):
    return (
        Contact.objects.filter(location=location, external_id=key)
        .values_list("credits_available", "credits_expire_at")
        .get()
    )


def test_grant_and_deduct_keep_the_stored_balance(location, package, membership):
    grant(location, package)
    grant(location, membership)
    deduct(location, calendar_id="cal_pack", amount=3)
    assert _stored(location) == (7 + 4, T0 + timedelta(days=31))


def test_stored_balance_equals_the_latest_ledger_balance(location, package):
    grant(location, package)
    deduct(location, calendar_id="cal_pack", amount=2)
    contact = Contact.objects.get()
    assert contact.credits_available == contact.ledger.latest("pk").contact_balance_after == 8


def test_pause_and_resume_keep_the_stored_balance(location, membership):
    paused = lot(grant(location, membership).entitlement_id)
    services.entitlement_pause(entitlement=paused, now=T0 + hours(1))
    assert _stored(location) == (0, None)
    services.entitlement_resume(entitlement=paused, now=T0 + hours(3))
    assert _stored(location) == (4, T0 + timedelta(days=31) + hours(2))


def test_the_expiry_sweep_empties_the_stored_balance(location, membership):
    grant(location, membership)
    services.expire_lots(now=T0 + timedelta(days=32))
    assert _stored(location) == (0, None)


def test_removing_a_config_takes_its_credits_out_of_stored_balances(location, package, membership):
    grant(location, package)
    grant(location, membership)
    grant(location, package, contact="m2")
    product_config_remove(config=membership, now=T0 + hours(1))
    assert (_stored(location), _stored(location, "m2")) == ((10, None), (10, None))
