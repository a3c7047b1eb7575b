"""POST /api/v2/grants (SPEC §3.5)."""

import re

import pytest

from accounts.models import BillingStatus
from entitlements.models import Contact, Entitlement, PaymentEvent
from locations.models import LocationStatus

from .conftest import ISO_MS_Z, POSTS, grant_body


def test_grant_returns_every_success_field(api, package):
    body = api.post_json(POSTS["grants"], grant_body(package)).json()
    assert body["ok"] is True and body["reason_code"] == "grant_applied"
    assert body["location_id"] == "loc_main" and body["contact_id"] == "m1"
    assert body["credits_granted"] == 10 and body["balance_after"] == 10
    assert body["entitlement_id"] == Entitlement.objects.get().public_id


def test_grant_balance_after_counts_earlier_lots_of_the_same_config(api, package, membership):
    api.post_json(POSTS["grants"], grant_body(package))
    api.post_json(POSTS["grants"], grant_body(membership))
    body = api.post_json(POSTS["grants"], grant_body(package)).json()
    assert body["balance_after"] == 20


def test_grant_of_config_with_expiry_returns_expires_at(api, membership):
    body = api.post_json(
        POSTS["grants"], grant_body(membership, paid_at="2030-01-01T10:00:00+01:00")
    ).json()
    assert body["expires_at"] == "2030-02-01T09:00:00.000Z"
    assert re.match(ISO_MS_Z, body["expires_at"])


def test_grant_without_expiry_has_null_expires_at(api, package):
    assert api.post_json(POSTS["grants"], grant_body(package)).json()["expires_at"] is None


def test_grant_defaults_provider_and_event_type(api, package):
    api.post_json(POSTS["grants"], grant_body(package))
    payment = PaymentEvent.objects.get()
    assert (payment.provider, payment.event_type) == ("automation", "payment_confirmed")


def test_grant_records_payment_fields(api, package):
    api.post_json(
        POSTS["grants"],
        grant_body(
            package,
            amount_cents=9900,
            currency="eur",
            provider="shopify",
            event_type="order_paid",
            external_ref="order-7",
            metadata={"sku": "pack10"},
        ),
    )
    payment = PaymentEvent.objects.get()
    assert (payment.amount_cents, payment.currency, payment.provider) == (9900, "EUR", "shopify")
    assert (payment.external_ref, payment.metadata) == ("order-7", {"sku": "pack10"})


def test_grant_creates_contact_with_email_and_name(api, package):
    api.post_json(POSTS["grants"], grant_body(package, email="ana@example.com", name="Ana"))
    contact = Contact.objects.get(external_id="m1")
    assert (contact.email, contact.name) == ("ana@example.com", "Ana")


def test_later_grant_updates_contact_hints(api, package):
    api.post_json(POSTS["grants"], grant_body(package, email="old@example.com"))
    api.post_json(POSTS["grants"], grant_body(package, email="new@example.com", name="Ana"))
    assert Contact.objects.get().email == "new@example.com"


def test_grant_by_ghl_contact_id_is_the_same_contact(api, package):
    api.post_json(POSTS["grants"], grant_body(package))
    body = grant_body(package, ghl_contact_id="m1")
    del body["external_contact_id"]
    api.post_json(POSTS["grants"], body)
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("config_id", ["pc_unknown", "removed"])
def test_grant_of_unknown_or_removed_config_is_config_not_found(api, package, config_id):
    if config_id == "removed":
        package.active = False
        package.save()
        config_id = package.public_id
    response = api.post_json(POSTS["grants"], grant_body(package, product_config_id=config_id))
    assert response.status_code == 200
    assert response.json()["reason_code"] == "CONFIG_NOT_FOUND"
    assert not Entitlement.objects.exists()


def test_grant_when_billing_suspended_is_refused(api, workspace, package):
    workspace.billing_status = BillingStatus.SUSPENDED
    workspace.save()
    body = api.post_json(POSTS["grants"], grant_body(package)).json()
    assert (body["ok"], body["reason_code"]) == (False, "BILLING_SUSPENDED")
    assert body["message"]


@pytest.mark.parametrize(
    "status", [LocationStatus.PENDING, LocationStatus.DISCONNECTED, LocationStatus.REMOVED]
)
def test_grant_to_inactive_location_is_refused(api, location, package, status):
    location.status = status
    location.save()
    body = api.post_json(POSTS["grants"], grant_body(package)).json()
    assert body["reason_code"] == "LOCATION_INACTIVE"


def test_second_grant_of_same_payment_is_duplicate_with_original_lot(api, package):
    first = api.post_json(POSTS["grants"], grant_body(package, external_payment_id="pay-1"))
    second = api.post_json(POSTS["grants"], grant_body(package, external_payment_id="pay-1"))
    assert second.json()["reason_code"] == "DUPLICATE_EVENT"
    assert second.json()["entitlement_id"] == first.json()["entitlement_id"]
    assert Entitlement.objects.count() == 1


def test_same_payment_id_from_another_provider_is_a_new_payment(api, package):
    api.post_json(POSTS["grants"], grant_body(package, external_payment_id="pay-1"))
    body = api.post_json(
        POSTS["grants"], grant_body(package, external_payment_id="pay-1", provider="shopify")
    ).json()
    assert body["reason_code"] == "grant_applied"
