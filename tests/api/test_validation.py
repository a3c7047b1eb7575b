"""Strict input (SPEC §3.1, §3.4): every bad input is a 400 VALIDATION_ERROR naming the field,
never a 500, never a partial write."""

import pytest

from api.parsers import MAX_BODY_BYTES, MAX_DEPTH
from entitlements.models import Contact, IdempotencyRecord, LedgerEntry

from .conftest import POSTS, check_body, grant_body, move_body, read_url

LONG = "x" * 256


@pytest.mark.parametrize(
    "field,value",
    [
        ("amount", 0),
        ("amount", 1001),
        ("amount", -1),
        ("amount", 1.5),
        ("amount", 1.0),
        ("amount", "1"),
        ("amount", True),
        ("amount", None),
        ("amount", 10**30),
        ("location_id", 5),
        ("location_id", None),
        ("location_id", ""),
        ("location_id", ["loc_main"]),
        ("external_contact_id", 42),
        ("external_contact_id", {"id": "m1"}),
        ("external_contact_id", LONG),
        ("request_id", ""),
        ("request_id", 7),
        ("request_id", LONG),
        ("calendar_id", LONG),
        ("calendar_id", False),
        ("product_config_id", 3),
        ("external_ref", LONG),
        ("external_ref", 12),
        ("appointment_time", "2026-05-01T09:00:00"),
        ("appointment_time", "2026-05-01"),
        ("appointment_time", "tomorrow"),
        ("appointment_time", 1767225600),
        ("appointment_time", "0001-01-01T00:00:00+01:00"),
        ("appointment_time", "9999-12-31T23:59:59-01:00"),
    ],
)
def test_bad_deduct_field_is_400_naming_it(api, member, field, value):
    response = api.post_json(POSTS["deduct"], move_body(**{field: value}))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert LedgerEntry.objects.filter(kind="deduct").count() == 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("amount_cents", -1),
        ("amount_cents", "100"),
        ("amount_cents", 9.99),
        ("currency", "EURO"),
        ("currency", "€€€"),
        ("currency", 978),
        ("paid_at", "2026-05-01 09:00"),
        ("email", "not-an-email"),
        ("email", 5),
        ("metadata", ["a"]),
        ("metadata", "x"),
        ("metadata", {"blob": "y" * 17000}),
        ("provider", "p" * 41),
        ("external_payment_id", LONG),
        ("product_config_id", None),
        ("name", LONG),
    ],
)
def test_bad_grant_field_is_400_naming_it(api, package, field, value):
    response = api.post_json(POSTS["grants"], grant_body(package, **{field: value}))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize("keys", [{}, {"external_contact_id": "m1", "ghl_contact_id": "m1"}])
def test_both_or_neither_contact_id_is_400(api, location, keys):
    body = {"location_id": "loc_main", "calendar_id": "cal_pack", **keys}
    response = api.post_json(POSTS["check"], body)
    assert response.status_code == 400
    assert "external_contact_id" in response.json()["errors"]


def test_neither_config_nor_calendar_is_400(api, location):
    body = check_body()
    del body["calendar_id"]
    response = api.post_json(POSTS["check"], body)
    assert response.status_code == 400
    assert "product_config_id" in response.json()["errors"]


def test_ghl_contact_id_alone_is_accepted(api, member):
    body = check_body(ghl_contact_id="m1")
    del body["external_contact_id"]
    assert api.post_json(POSTS["check"], body).json()["reason_code"] == "eligible"


@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null", "NaN", '{"amount": Infinity}'])
def test_body_that_is_not_a_json_object_is_400(api, location, raw):
    response = api.post(POSTS["deduct"], data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["reason_code"] == "VALIDATION_ERROR"


def test_body_that_is_not_utf8_is_400(api, location):
    response = api.post(POSTS["deduct"], data=b'{"a": "\xff"}', content_type="application/json")
    assert response.status_code == 400


def test_nul_character_in_any_string_is_400(api, member):
    response = api.post_json(POSTS["deduct"], move_body(external_contact_id="m\x001"))
    assert response.status_code == 400
    assert "NUL" in response.json()["errors"]["body"][0]


def test_nul_character_in_metadata_key_is_400(api, package):
    response = api.post_json(POSTS["grants"], grant_body(package, metadata={"a\x00": 1}))
    assert response.status_code == 400


def test_unpaired_surrogate_is_400(api, member):
    raw = '{"location_id": "loc_main", "external_contact_id": "\\ud800", "calendar_id": "c"}'
    response = api.post(POSTS["check"], data=raw, content_type="application/json")
    assert response.status_code == 400


def test_oversized_body_is_400(api, package):
    body = grant_body(package, note="n" * (MAX_BODY_BYTES + 1))
    response = api.post_json(POSTS["grants"], body)
    assert response.status_code == 400
    assert "64 KB" in response.json()["errors"]["body"][0]


def test_deeply_nested_body_is_400_not_500(api, package):
    raw = '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post(POSTS["grants"], data=raw, content_type="application/json")
    assert response.status_code == 400


def test_body_nested_past_the_depth_limit_is_400(api, package):
    nested: dict = {}
    for _ in range(MAX_DEPTH + 1):
        nested = {"n": nested}
    response = api.post_json(POSTS["grants"], grant_body(package, metadata=nested))
    assert response.status_code == 400


def test_refused_input_stores_no_request_id(api, member):
    api.post_json(POSTS["deduct"], move_body(request_id="bad-1", amount=0))
    assert not IdempotencyRecord.objects.filter(request_id="bad-1").exists()


def test_unicode_ids_round_trip(api, package):
    api.post_json(POSTS["grants"], grant_body(package, external_contact_id="ünï-😀-会员"))
    response = api.get(read_url("%C3%BCn%C3%AF-%F0%9F%98%80-%E4%BC%9A%E5%91%98", ""))
    assert response.json()["contact"]["id"] == "ünï-😀-会员"


def test_id_of_exactly_255_chars_is_accepted(api, package):
    response = api.post_json(POSTS["grants"], grant_body(package, external_contact_id="c" * 255))
    assert response.json()["reason_code"] == "grant_applied"


def test_timestamp_with_offset_is_accepted(api, member):
    body = move_body(appointment_time="2030-05-01T09:00:00+02:00", external_ref="apt-1")
    assert api.post_json(POSTS["deduct"], body).json()["reason_code"] == "deducted"


@pytest.mark.parametrize(
    "query,field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": -3}, "limit"),
        ({"location_id": "x" * 256}, "location_id"),
        ({"cursor": "c" * 600}, "cursor"),
        ({"location_id": "%00"}, "location_id"),
    ],
)
def test_bad_read_query_is_400(api, member, query, field):
    response = api.get(read_url("m1", "/ledger", **query))
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_read_without_location_id_is_400(api, member):
    response = api.get("/api/v2/contacts/m1")
    assert "location_id" in response.json()["errors"]


@pytest.mark.parametrize("contact", ["c" * 256, "m%001"])
def test_bad_contact_key_in_path_is_400(api, member, contact):
    response = api.get(read_url(contact, "/summary"))
    assert response.status_code == 400
    assert "id" in response.json()["errors"]


def test_errors_body_is_plain_lists_of_strings(api, location):
    response = api.post_json(POSTS["grants"], {"metadata": {"a": 1}})
    errors = response.json()["errors"]
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)


@pytest.mark.parametrize("post", ["grants", "deduct", "restore"])
def test_request_ids_in_the_ghl_namespace_are_reserved(api, package, post):
    body = (
        grant_body(package, request_id="ghl:appt:a1:deduct")
        if post == "grants"
        else move_body(request_id="ghl:appt:a1:deduct")
    )
    response = api.post_json(POSTS[post], body)
    assert response.status_code == 400 and "request_id" in response.json()["errors"]


def test_thousands_of_query_parameters_are_a_400_not_a_500(api, location):
    noise = "&".join(f"p{i}=1" for i in range(1500))
    response = api.get(read_url("m1", "/ledger") + "&" + noise)
    assert response.status_code == 400
    assert response.json()["reason_code"] == "VALIDATION_ERROR"
