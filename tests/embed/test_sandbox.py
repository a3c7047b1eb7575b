"""/embed/sandbox-launch: the embed without GHL, only with EMBED_SANDBOX_TOKEN."""

import io
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from accounts.models import BillingStatus
from locations.models import LocationKind

pytestmark = pytest.mark.django_db
TOKEN = "sandbox-token-for-tests"
LAUNCH = "/embed/sandbox-launch"


@pytest.fixture
def sandbox(settings):
    settings.EMBED_SANDBOX_TOKEN = TOKEN


def test_does_not_exist_without_a_token_setting(client, location):
    response = client.get(LAUNCH, {"location_id": "loc_main", "token": ""})
    assert response.status_code == 404


@pytest.mark.parametrize("token", ["", "wrong", TOKEN + "x", TOKEN.upper()])
def test_refuses_a_wrong_or_missing_token(client, sandbox, location, token):
    response = client.get(LAUNCH, {"location_id": "loc_main", "token": token})
    assert response.status_code == 401 and "kotally_embed" not in response.cookies


def test_opens_the_dashboard_of_the_named_location(client, sandbox, studio):
    response = client.get(
        LAUNCH,
        {"location_id": "loc_main", "user_id": "u_demo", "agency_id": "a_demo", "token": TOKEN},
    )
    assert response.status_code == 302 and response.url == "/embed/dashboard"
    body = client.get(response.url).content.decode()
    assert "Ann Member" in body and "u_demo (sandbox)" in body


def test_also_opens_an_api_location_like_make_runs_demo(client, sandbox, location):
    location.kind = LocationKind.API
    location.save()
    response = client.get(LAUNCH, {"location_id": "loc_main", "token": TOKEN})
    assert response.status_code == 302


def test_keeps_the_billing_and_location_rules(client, sandbox, location, workspace):
    assert client.get(LAUNCH, {"location_id": "loc_x", "token": TOKEN}).status_code == 403
    workspace.billing_status = BillingStatus.SUSPENDED
    workspace.save()
    assert client.get(LAUNCH, {"location_id": "loc_main", "token": TOKEN}).status_code == 403


def test_seed_demo_prints_a_sandbox_url_that_opens_the_demo(client, sandbox):
    """What `make run` shows: the launch URL for the demo location, ready to open."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    url = re.search(r"http://\S+/embed/sandbox-launch\?\S+", out.getvalue()).group()
    response = client.get(urlsplit(url).path + "?" + urlsplit(url).query)
    assert response.status_code == 302
    assert client.get(response.url).status_code == 200


def test_seed_demo_prints_no_sandbox_url_without_a_token(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "sandbox-launch" not in out.getvalue()


@pytest.mark.parametrize(
    "debug, token, starts",
    [
        ("False", "short-token", False),
        ("False", "x" * 24, True),
        ("True", "short-token", True),
    ],
)
def test_production_refuses_a_guessable_sandbox_token(debug, token, starts):
    env = {**os.environ, "DJANGO_DEBUG": debug, "EMBED_SANDBOX_TOKEN": token}
    result = subprocess.run(
        [sys.executable, "-c", "import tests.settings"], env=env, capture_output=True, text=True
    )
    assert (result.returncode == 0) is starts, result.stderr[-300:]
