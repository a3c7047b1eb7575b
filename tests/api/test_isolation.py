"""Tenant isolation (SPEC invariant 6): a token only ever reaches its own location."""

import pytest
from rest_framework.test import APIClient

from entitlements.models import Contact, Entitlement, IdempotencyRecord, LedgerEntry
from entitlements.services import Actor, Payment, credits_grant
from tests.factories import ProductConfigFactory

from .conftest import POSTS, READS, body_for, read_url


@pytest.fixture
def stranger_api(stranger_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {stranger_token}")
    return client


def _snapshot():
    return (
        Contact.objects.count(),
        Entitlement.objects.count(),
        LedgerEntry.objects.count(),
        IdempotencyRecord.objects.count(),
        list(Entitlement.objects.values_list("credits_remaining", flat=True)),
    )


@pytest.mark.parametrize("endpoint", list(POSTS))
def test_stranger_token_cannot_write_to_our_location(stranger_api, package, member, endpoint):
    before = _snapshot()
    response = stranger_api.post(POSTS[endpoint], body_for(endpoint, package), format="json")
    assert response.status_code == 403
    assert response.json()["reason_code"] == "LOCATION_FORBIDDEN"
    assert _snapshot() == before


@pytest.mark.parametrize("suffix", READS)
def test_stranger_token_cannot_read_our_contacts(stranger_api, member, suffix):
    response = stranger_api.get(read_url("m1", suffix))
    assert response.status_code == 403
    assert response.json()["reason_code"] == "LOCATION_FORBIDDEN"


@pytest.mark.parametrize("suffix", READS)
def test_contact_of_another_workspace_is_not_found_in_ours(
    api, location, stranger_location, suffix
):
    config = ProductConfigFactory(location=stranger_location)
    credits_grant(
        location=stranger_location,
        contact_key="their-member",
        product_config_id=config.public_id,
        payment=Payment("p"),
        actor=Actor(),
    )
    response = api.get(read_url("their-member", suffix))
    assert response.json()["reason_code"] == "NOT_FOUND"


def test_config_of_another_workspace_cannot_be_granted_in_ours(api, stranger_location):
    config = ProductConfigFactory(location=stranger_location)
    response = api.post_json(POSTS["grants"], body_for("grants", config))
    assert response.json()["reason_code"] == "CONFIG_NOT_FOUND"
    assert not Entitlement.objects.exists()


def test_stranger_contact_with_same_key_is_a_different_contact(api, member, stranger_location):
    config = ProductConfigFactory(location=stranger_location, calendar_ids=["cal_pack"])
    credits_grant(
        location=stranger_location,
        contact_key="m1",
        product_config_id=config.public_id,
        payment=Payment("p"),
        actor=Actor(),
    )
    body = api.get(read_url("m1", "/credits")).json()
    assert body["credits_available"] == 10
    assert len(body["by_product_config"]) == 1
