"""Request builders for the /api/v2 tests: one valid body per endpoint, overridable per test.

`member` is a contact (`m1`) holding one 10-credit lot of `package` (calendar `cal_pack`),
granted through the real grant endpoint.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import BillingStatus
from entitlements.models import Entitlement
from entitlements.services import entitlement_pause
from locations.models import LocationStatus

V2 = "/api/v2"
ISO_MS_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
_seq = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}_{next(_seq)}"


def grant_body(config, **fields) -> dict:
    return {
        "location_id": "loc_main",
        "external_contact_id": "m1",
        "request_id": unique("g"),
        "external_payment_id": unique("pay"),
        "product_config_id": config.public_id,
        **fields,
    }


def move_body(**fields) -> dict:
    """A deduct or restore body (check ignores request_id)."""
    return {
        "location_id": "loc_main",
        "external_contact_id": "m1",
        "request_id": unique("r"),
        "calendar_id": "cal_pack",
        **fields,
    }


def check_body(**fields) -> dict:
    return {
        "location_id": "loc_main",
        "external_contact_id": "m1",
        "calendar_id": "cal_pack",
        **fields,
    }


POSTS = {
    "grants": f"{V2}/grants",
    "check": f"{V2}/entitlements/check-eligibility",
    "deduct": f"{V2}/entitlements/deduct",
    "restore": f"{V2}/entitlements/restore",
}
READS = [
    "",
    "/summary",
    "/credits",
    "/entitlements",
    "/appointments/upcoming",
    "/appointments/past",
    "/ledger",
    "/payments",
    "/timeline",
]
LISTS = {
    "/entitlements": "entitlements",
    "/appointments/upcoming": "appointments",
    "/appointments/past": "appointments",
    "/ledger": "entries",
    "/payments": "payments",
    "/timeline": "events",
}


def read_url(contact: str, suffix: str, **query) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"location_id": "loc_main", **query}.items())
    return f"{V2}/contacts/{contact}{suffix}?{params}"


def body_for(name: str, config) -> dict:
    """A valid body for one POST endpoint."""
    return {
        "grants": lambda: grant_body(config),
        "check": check_body,
        "deduct": move_body,
        "restore": move_body,
    }[name]()


@pytest.fixture
def member(api, package):
    response = api.post_json(POSTS["grants"], grant_body(package))
    assert response.json()["reason_code"] == "grant_applied"
    return response.json()


@pytest.fixture
def refusal(workspace, location, member):
    """Put `m1` in the state behind one SPEC §2.3 refusal; returns the body overrides."""

    def arrange(code: str) -> dict:
        if code == "BILLING_SUSPENDED":
            workspace.billing_status = BillingStatus.SUSPENDED
            workspace.save()
        elif code == "LOCATION_INACTIVE":
            location.status = LocationStatus.PENDING
            location.save()
        elif code == "CONFIG_NOT_FOUND":
            return {"product_config_id": "pc_missing"}
        elif code == "NO_ENTITLEMENT":
            return {"external_contact_id": "nobody"}
        elif code == "SERVICE_FAMILY_MISMATCH":
            return {"calendar_id": "cal_other"}
        elif code == "ENTITLEMENT_PAUSED":
            entitlement_pause(entitlement=Entitlement.objects.get())
        elif code == "ENTITLEMENT_EXPIRED":
            Entitlement.objects.update(expires_at=timezone.now() - timedelta(days=1))
        elif code == "INSUFFICIENT_CREDITS":
            return {"amount": 11}
        return {}

    return arrange


ENGINE_REFUSALS = [
    "BILLING_SUSPENDED",
    "LOCATION_INACTIVE",
    "CONFIG_NOT_FOUND",
    "NO_ENTITLEMENT",
    "SERVICE_FAMILY_MISMATCH",
    "ENTITLEMENT_PAUSED",
    "ENTITLEMENT_EXPIRED",
    "INSUFFICIENT_CREDITS",
]
