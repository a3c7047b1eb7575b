import pytest

from accounts.models import BillingStatus
from entitlements import services
from entitlements.models import (
    Contact,
    Entitlement,
    LedgerEntry,
    LedgerKind,
    PaymentEvent,
    PaymentOutcome,
    RenewalPolicy,
)
from locations.models import LocationStatus
from tests.entitlements.helpers import T0, grant, hours, lot
from tests.factories import MembershipConfigFactory, ProductConfigFactory


def test_grant_of_a_package_creates_a_full_lot_and_a_grant_entry(location, package):
    outcome = grant(location, package)
    entry = LedgerEntry.objects.get()
    assert (outcome.ok, outcome.reason_code) == (True, "grant_applied")
    assert (outcome.credits_granted, outcome.balance_after) == (10, 10)
    assert (entry.kind, entry.amount, entry.contact_balance_after) == (LedgerKind.GRANT, 10, 10)


def test_grant_with_quantity_makes_one_lot_of_quantity_times_credits(location, package):
    outcome = grant(location, package, quantity=3)
    assert Entitlement.objects.count() == 1
    assert lot(outcome.entitlement_id).credits_granted == 30


def test_grant_with_quantity_zero_is_a_programming_error_and_writes_nothing(location, package):
    with pytest.raises(ValueError):
        grant(location, package, quantity=0)
    assert not PaymentEvent.objects.exists()


def test_grant_expiry_counts_from_paid_at(location, membership):
    outcome = grant(location, membership, paid_at=T0 - hours(48))
    assert outcome.expires_at == T0 - hours(48) + hours(24 * 31)


def test_grant_expiry_counts_from_now_without_paid_at(location, membership):
    assert grant(location, membership).expires_at == T0 + hours(24 * 31)


def test_grant_without_expiry_days_never_expires(location, package):
    assert grant(location, package).expires_at is None


def test_grant_creates_the_contact_with_its_hints(location, package):
    grant(location, package, contact="new", email="a@example.com", name="Ann")
    contact = Contact.objects.get(external_id="new")
    assert (contact.email, contact.name) == ("a@example.com", "Ann")


def test_grant_balance_after_counts_only_that_config(location, package, membership):
    grant(location, membership)
    assert grant(location, package).balance_after == 10


def test_reset_membership_forfeits_earlier_lots_of_the_same_config(location):
    config = MembershipConfigFactory(location=location, renewal_policy=RenewalPolicy.RESET)
    first = grant(location, config)
    second = grant(location, config, now=T0 + hours(24 * 30))
    forfeit = LedgerEntry.objects.get(kind=LedgerKind.FORFEIT)
    assert (forfeit.entitlement.public_id, forfeit.amount) == (first.entitlement_id, -4)
    assert lot(first.entitlement_id).credits_remaining == 0
    assert second.balance_after == 4


def test_reset_membership_leaves_other_configs_alone(location, package):
    config = MembershipConfigFactory(location=location, renewal_policy=RenewalPolicy.RESET)
    pack = grant(location, package)
    grant(location, config)
    grant(location, config)
    assert lot(pack.entitlement_id).credits_remaining == 10


def test_accumulate_membership_keeps_earlier_credits(location, membership):
    grant(location, membership)
    outcome = grant(location, membership, now=T0 + hours(24 * 30))
    assert outcome.balance_after == 8
    assert not LedgerEntry.objects.filter(kind=LedgerKind.FORFEIT).exists()


def test_second_grant_of_one_payment_is_a_duplicate_naming_the_original_lot(location, package):
    first = grant(location, package, payment="inv-1")
    again = grant(location, package, payment="inv-1", contact="someone-else")
    assert (again.ok, again.reason_code) == (False, "DUPLICATE_EVENT")
    assert again.entitlement_id == first.entitlement_id
    assert Entitlement.objects.count() == 1


def test_duplicate_grant_naming_a_new_contact_does_not_create_it(location, package):
    grant(location, package, payment="inv-1")
    grant(location, package, payment="inv-1", contact="someone-else")
    assert not Contact.objects.filter(external_id="someone-else").exists()


def test_same_payment_id_from_another_provider_is_another_payment(location, package):
    grant(location, package, payment="inv-1", provider="ghl")
    assert grant(location, package, payment="inv-1", provider="stripe").ok


def test_grant_claims_a_payment_kept_as_unmatched(location, package):
    services.payment_record(
        location=location,
        contact_key="m1",
        payment=services.Payment("inv-9", provider="ghl"),
        outcome=PaymentOutcome.UNMATCHED,
        explanation="no config for product X",
    )
    outcome = grant(location, package, payment="inv-9", provider="ghl")
    payment = PaymentEvent.objects.get()
    assert outcome.ok
    assert (payment.outcome, payment.entitlement.public_id) == ("granted", outcome.entitlement_id)


def test_grant_never_claims_a_payment_kept_as_duplicate(location, package):
    services.payment_record(
        location=location,
        contact_key="m1",
        payment=services.Payment("pi_1", provider="stripe"),
        outcome=PaymentOutcome.DUPLICATE,
        explanation="already granted through GHL",
    )
    outcome = grant(location, package, payment="pi_1", provider="stripe")
    assert (outcome.reason_code, outcome.entitlement_id) == ("DUPLICATE_EVENT", None)


def test_grant_is_refused_while_billing_is_suspended(location, package):
    location.workspace.billing_status = BillingStatus.SUSPENDED
    assert grant(location, package).reason_code == "BILLING_SUSPENDED"
    assert not PaymentEvent.objects.exists()


def test_billing_suspended_comes_before_location_inactive(location, package):
    location.workspace.billing_status = BillingStatus.CANCELED
    location.status = LocationStatus.DISCONNECTED
    assert grant(location, package).reason_code == "BILLING_SUSPENDED"


def test_grant_is_refused_for_an_inactive_location(location, package):
    location.status = LocationStatus.PENDING
    assert grant(location, package).reason_code == "LOCATION_INACTIVE"


def test_grant_is_refused_for_a_removed_config(location, package):
    package.active = False
    package.save()
    assert grant(location, package).reason_code == "CONFIG_NOT_FOUND"


def test_grant_is_refused_for_another_locations_config(location, stranger_location):
    foreign = ProductConfigFactory(location=stranger_location)
    assert grant(location, foreign).reason_code == "CONFIG_NOT_FOUND"
