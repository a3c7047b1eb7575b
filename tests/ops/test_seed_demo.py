"""`manage.py seed_demo`: the documented interface, and that its token really works."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from rest_framework.test import APIClient

from accounts.models import Workspace
from api.models import ApiClient
from locations.models import Location
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def seed(*args) -> dict:
    out = io.StringIO()
    call_command("seed_demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())  # fails unless stdout holds exactly one JSON object


def test_json_output_has_the_documented_keys():
    result = seed()
    assert set(result) == {"workspace", "location_id", "token", "product_configs", "owner"}
    assert set(result["product_configs"]) == {"package", "membership"}
    assert result["token"].startswith("ktly_") and result["location_id"] == "loc_demo"


def test_rerun_reuses_workspace_and_location_but_mints_a_new_client():
    first, second = seed(), seed()
    assert first["token"] != second["token"]
    assert Workspace.objects.filter(name="Demo Studio").count() == 1
    assert ApiClient.objects.filter(location__location_id="loc_demo").count() == 2
    assert first["product_configs"] == second["product_configs"]


def test_options_set_workspace_location_billing_window_and_scopes():
    result = seed(
        "--workspace",
        "Yoga Loft",
        "--location-id",
        "loc_yoga",
        "--billing-status",
        "suspended",
        "--cancellation-window-hours",
        "6",
        "--scopes",
        "check,summary",
    )
    location = Location.objects.select_related("workspace").get(location_id="loc_yoga")
    assert (location.workspace.name, location.workspace.billing_status) == (
        "Yoga Loft",
        "suspended",
    )
    assert location.workspace.cancellation_window_hours == 6
    assert ApiClient.objects.get(location=location).scopes == ["check", "summary"]
    assert result["workspace"] == "Yoga Loft"


def test_token_grants_and_deducts_over_the_api():
    result = seed()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {result['token']}")
    package = result["product_configs"]["package"]
    base = {"location_id": result["location_id"], "external_contact_id": "member-1"}
    grant = api.post(
        "/api/v2/grants",
        {**base, "request_id": "g", "external_payment_id": "p", "product_config_id": package["id"]},
        format="json",
    )
    deduct = api.post(
        "/api/v2/entitlements/deduct",
        {**base, "request_id": "d", "calendar_id": package["calendar_id"]},
        format="json",
    )
    assert grant.json()["credits_granted"] == 10
    assert deduct.json()["balance_after"] == 9


def test_owner_can_sign_in_with_the_printed_password(client):
    result = seed()
    owner = result["owner"]
    assert client.login(request=HttpRequest(), email=owner["email"], password=owner["password"])


def test_unknown_scope_is_refused_and_creates_nothing():
    with pytest.raises(CommandError, match="unknown scopes"):
        seed("--scopes", "deduct,admin")
    assert not Workspace.objects.exists()


def test_location_of_another_workspace_is_refused():
    LocationFactory(location_id="loc_taken")
    with pytest.raises(CommandError, match="another workspace"):
        seed("--location-id", "loc_taken")
    assert not ApiClient.objects.exists()


def test_human_output_prints_sign_in_and_curl_commands():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "curl -s -X POST" in out.getvalue() and "Sign in:" in out.getvalue()
