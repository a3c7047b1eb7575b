"""Hostile input on every /api/v2 endpoint: another workspace's token, oversized and deeply
nested bodies, wrong JSON types and unusual unicode in ids. Each must get a clear 4xx (or a
200 business refusal), never a 500, and change nothing.
"""

import json
from urllib.parse import quote

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from api.parsers import MAX_BODY_BYTES, MAX_DEPTH
from entitlements.models import Contact, Entitlement, IdempotencyRecord, LedgerEntry, PaymentEvent
from entitlements.services import Actor, Payment, credits_grant
from tests.api.conftest import READS, V2


@pytest.fixture
def member(location, package):
    credits_grant(
        location=location,
        contact_key="m1",
        product_config_id=package.public_id,
        payment=Payment(external_payment_id="hostile-pay-1"),
        actor=Actor(request_id="hostile-g1"),
    )


def posts(package) -> dict:
    """One valid body per write/check endpoint, aimed at member m1 of loc_main."""
    base = {"location_id": "loc_main", "external_contact_id": "m1"}
    return {
        "grants": dict(
            base, request_id="h-g", external_payment_id="h-pay", product_config_id=package.public_id
        ),
        "entitlements/check-eligibility": dict(base, calendar_id="cal_pack"),
        "entitlements/deduct": dict(base, calendar_id="cal_pack", request_id="h-d"),
        "entitlements/restore": dict(base, calendar_id="cal_pack", request_id="h-r"),
    }


POST_PATHS = [
    "grants",
    "entitlements/check-eligibility",
    "entitlements/deduct",
    "entitlements/restore",
]


def state() -> tuple:
    """Everything a request could change, in one comparable value."""
    return (
        LedgerEntry.objects.count(),
        IdempotencyRecord.objects.count(),
        Contact.objects.count(),
        PaymentEvent.objects.count(),
        Entitlement.objects.aggregate(total=Sum("credits_remaining"))["total"],
    )


def post_raw(client, path, raw: str | bytes):
    return client.post(f"{V2}/{path}", data=raw, content_type="application/json")


@pytest.fixture
def stranger_api(stranger_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {stranger_token}")
    return client


# --- another workspace's token --------------------------------------------------------------


@pytest.mark.parametrize("path", POST_PATHS)
def test_other_workspace_token_cannot_write_or_check(stranger_api, member, package, path):
    before = state()
    response = stranger_api.post(f"{V2}/{path}", posts(package)[path], format="json")
    assert response.status_code == 403
    assert response.json()["reason_code"] == "LOCATION_FORBIDDEN"
    assert state() == before


@pytest.mark.parametrize("suffix", READS)
def test_other_workspace_token_cannot_read(stranger_api, member, suffix):
    response = stranger_api.get(f"{V2}/contacts/m1{suffix}?location_id=loc_main")
    assert response.status_code == 403
    assert response.json()["reason_code"] == "LOCATION_FORBIDDEN"


@pytest.mark.parametrize("suffix", READS)
def test_member_is_invisible_from_another_workspace_location(stranger_api, member, suffix):
    response = stranger_api.get(f"{V2}/contacts/m1{suffix}?location_id=loc_stranger")
    assert response.status_code == 200
    assert response.json()["reason_code"] == "NOT_FOUND"


# --- oversized, deep and mistyped bodies ----------------------------------------------------


@pytest.mark.parametrize("path", POST_PATHS)
def test_oversized_body_is_400_and_changes_nothing(api, member, package, path):
    before = state()
    body = dict(posts(package)[path], external_ref="x" * (MAX_BODY_BYTES + 1))
    response = post_raw(api, path, json.dumps(body))
    assert response.status_code == 400
    assert state() == before


@pytest.mark.parametrize("path", POST_PATHS)
def test_deep_json_is_400_and_changes_nothing(api, member, package, path):
    before = state()
    head = json.dumps(posts(package)[path])[:-1]
    raw = head + ', "deep": ' + "[" * (MAX_DEPTH * 100) + "]" * (MAX_DEPTH * 100) + "}"
    response = post_raw(api, path, raw)
    assert response.status_code == 400
    assert state() == before


WRONG_TYPES = [
    ("location_id", 12345),
    ("location_id", None),
    ("external_contact_id", ["m1"]),
    ("external_contact_id", {"id": "m1"}),
    ("external_contact_id", 1.5),
    ("external_contact_id", True),
]


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
def test_wrong_type_is_400_naming_the_field(api, member, package, path, field, value):
    before = state()
    response = api.post(f"{V2}/{path}", dict(posts(package)[path], **{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert state() == before


@pytest.mark.parametrize("path", ["entitlements/deduct", "entitlements/restore", "grants"])
@pytest.mark.parametrize("value", [1, 1.0, True, None, ["r"], {"r": 1}])
def test_non_string_request_id_is_400(api, member, package, path, value):
    before = state()
    response = api.post(f"{V2}/{path}", dict(posts(package)[path], request_id=value), format="json")
    assert response.status_code == 400
    assert state() == before


@pytest.mark.parametrize("path", ["entitlements/check-eligibility", "entitlements/deduct"])
@pytest.mark.parametrize("amount", ["1", 1.5, True, -1, 0, 10**20, [1]])
def test_bad_amount_is_400(api, member, package, path, amount):
    response = api.post(f"{V2}/{path}", dict(posts(package)[path], amount=amount), format="json")
    assert response.status_code == 400
    assert "amount" in response.json()["errors"]


# --- unicode in ids ---------------------------------------------------------------------------

UNICODE_IDS = [
    "会员-😀",
    "\u202eevil\u202c",
    "zero\u200bwidth",
    "e\u0301\u0301\u0301",
    "\U0010ffff",
    "Ω≈ç√",
    "..%2F..",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("contact", UNICODE_IDS)
def test_unicode_contact_in_deduct_is_a_business_refusal(api, member, package, contact):
    body = dict(
        posts(package)["entitlements/deduct"],
        external_contact_id=contact,
        request_id=f"u-{contact}",
    )
    response = api.post(f"{V2}/entitlements/deduct", body, format="json")
    assert response.status_code == 200
    assert response.json()["reason_code"] == "NO_ENTITLEMENT"


@pytest.mark.parametrize("contact", UNICODE_IDS)
def test_unicode_contact_granted_then_read_back(api, member, package, contact):
    body = dict(
        posts(package)["grants"],
        external_contact_id=contact,
        request_id=f"u-{contact}",
        external_payment_id=f"u-{contact}",
    )
    api.post(f"{V2}/grants", body, format="json")
    response = api.get(f"{V2}/contacts/{quote(contact, safe='')}/credits?location_id=loc_main")
    assert response.status_code == 200
    assert response.json()["credits_available"] == package.credits_total


def test_contact_id_with_slash_is_refused_because_it_could_not_be_read_back(api, member, package):
    body = dict(
        posts(package)["grants"],
        external_contact_id="a/b",
        request_id="u-slash",
        external_payment_id="u-slash",
    )
    response = api.post(f"{V2}/grants", body, format="json")
    assert response.status_code == 400
    assert "external_contact_id" in response.json()["errors"]


@pytest.mark.parametrize("suffix", READS)
def test_overlong_contact_in_path_is_400(api, member, suffix):
    response = api.get(f"{V2}/contacts/{'ü' * 256}{suffix}?location_id=loc_main")
    assert response.status_code == 400
