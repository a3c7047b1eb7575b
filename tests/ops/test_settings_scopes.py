"""GHL_SCOPES left empty (as .env.example lists it) asks for the default scopes."""

import os
import subprocess
import sys


def _scopes(value: str) -> str:
    env = {**os.environ, "GHL_SCOPES": value, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.GHL_SCOPES)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_empty_ghl_scopes_means_the_defaults_with_the_write_back_scopes():
    assert "contacts.write" in _scopes("") and "contacts.readonly" in _scopes("")


def test_ghl_scopes_set_explicitly_are_used_as_given():
    assert _scopes("contacts.readonly,users.readonly").strip() == (
        "['contacts.readonly', 'users.readonly']"
    )
