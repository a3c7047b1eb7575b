"""The nine GET /api/v2/contacts/{id}/... reads (SPEC §3.9)."""

import re

import pytest

from .conftest import ISO_MS_Z, POSTS, READS, grant_body, move_body, read_url

CODES = {
    "": "contact_loaded",
    "/summary": "summary_loaded",
    "/credits": "credits_loaded",
    "/entitlements": "entitlements_loaded",
    "/appointments/upcoming": "appointments_loaded",
    "/appointments/past": "appointments_loaded",
    "/ledger": "ledger_loaded",
    "/payments": "payments_loaded",
    "/timeline": "timeline_loaded",
}


@pytest.fixture
def history(api, package, member):
    """m1: one package lot, one upcoming and one past booking (each deducted 1)."""
    api.post_json(
        POSTS["deduct"],
        move_body(external_ref="apt-future", appointment_time="2099-01-01T10:00:00Z"),
    )
    api.post_json(
        POSTS["deduct"], move_body(external_ref="apt-past", appointment_time="2020-01-01T10:00:00Z")
    )
    return member


@pytest.mark.parametrize("suffix", READS)
def test_read_succeeds_with_its_code(api, history, suffix):
    response = api.get(read_url("m1", suffix))
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["reason_code"]) == (True, CODES[suffix])


@pytest.mark.parametrize("suffix", READS)
def test_unknown_contact_is_200_not_found(api, location, suffix):
    response = api.get(read_url("ghost", suffix))
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["reason_code"]) == (False, "NOT_FOUND")


def test_contact_read_shape(api, package):
    api.post_json(POSTS["grants"], grant_body(package, email="a@example.com", name="Ana"))
    contact = api.get(read_url("m1", "")).json()["contact"]
    assert {k: contact[k] for k in ("id", "external_contact_id", "ghl_contact_id")} == {
        "id": "m1",
        "external_contact_id": "m1",
        "ghl_contact_id": "m1",
    }
    assert (contact["email"], contact["name"]) == ("a@example.com", "Ana")


def test_summary_totals(api, history):
    summary = api.get(read_url("m1", "/summary")).json()["summary"]
    assert summary["credits_available"] == 8
    assert summary["payment_events_count"] == 1
    assert [e["kind"] for e in summary["recent_ledger"]] == ["deduct", "deduct", "grant"]
    assert len(summary["recent_appointments"]) == 2


def test_summary_recent_lists_hold_five_newest(api, member):
    for _ in range(7):
        api.post_json(POSTS["deduct"], move_body())
    summary = api.get(read_url("m1", "/summary")).json()["summary"]
    assert len(summary["recent_ledger"]) == 5


def test_credits_by_product_config(api, package, history):
    body = api.get(read_url("m1", "/credits")).json()
    assert body["credits_available"] == 8
    assert body["by_product_config"] == [
        {"product_config_id": package.public_id, "name": package.name, "credits_available": 8}
    ]


def test_entitlements_list_item(api, package, history):
    item = api.get(read_url("m1", "/entitlements")).json()["entitlements"][0]
    assert (item["product_config_id"], item["kind"], item["status"]) == (
        package.public_id,
        "package",
        "active",
    )
    assert (item["credits_granted"], item["credits_remaining"]) == (10, 8)


def test_upcoming_and_past_split_appointments(api, history):
    upcoming = api.get(read_url("m1", "/appointments/upcoming")).json()["appointments"]
    past = api.get(read_url("m1", "/appointments/past")).json()["appointments"]
    assert [a["external_id"] for a in upcoming] == ["apt-future"]
    assert [a["external_id"] for a in past] == ["apt-past"]


def test_ledger_is_newest_first(api, history):
    entries = api.get(read_url("m1", "/ledger")).json()["entries"]
    assert [e["kind"] for e in entries] == ["deduct", "deduct", "grant"]
    assert [e["balance_after"] for e in entries] == [8, 9, 10]


def test_payments_list_item(api, package, history):
    payment = api.get(read_url("m1", "/payments")).json()["payments"][0]
    assert (payment["provider"], payment["outcome"]) == ("automation", "granted")
    assert payment["product_config_id"] == package.public_id


def test_timeline_merges_types_newest_first(api, history):
    events = api.get(read_url("m1", "/timeline")).json()["events"]
    assert {e["type"] for e in events} == {"ledger", "payment", "appointment"}
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)


def _timestamps(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(("_at", "_time")) or key == "at":
                if item is not None:
                    yield item
            else:
                yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)


@pytest.mark.parametrize("suffix", READS)
def test_every_timestamp_is_utc_with_milliseconds_and_z(api, history, suffix):
    body = api.get(read_url("m1", suffix)).json()
    stamps = list(_timestamps(body))
    assert stamps or suffix == "/credits"
    assert all(re.match(ISO_MS_Z, s) for s in stamps), stamps
