"""Issue 13 items 6 and 10: production settings refuse weak secrets and a per-process rate
limit, empty variables never override a safe default, and `check --deploy` is clean with no
SECURE_* variable set. Each case imports kotally.settings in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "k" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"


def production_env(**overrides) -> dict:
    # Only what the OS needs, so no variable of the test run leaks in.
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "kotally.settings",
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": STRONG_SECRET,
        "DATABASE_URL": "sqlite:///unused.sqlite3",
        "DJANGO_ALLOWED_HOSTS": "kotally.example.com",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "REDIS_URL": "redis://127.0.0.1:6379/13",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def settings_value(env: dict, *names: str) -> dict:
    code = (
        "import json; from kotally import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}))"
    )
    result = run(env, "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_without_any_secure_variable():
    result = run(production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_production_redirects_to_https_with_hsts_and_trusts_the_proxy_header():
    values = settings_value(
        production_env(), "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER"
    )
    assert values["SECURE_SSL_REDIRECT"] is True and values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_secure_ssl_redirect_false_turns_the_redirect_off():
    env = production_env(SECURE_SSL_REDIRECT="False")
    assert settings_value(env, "SECURE_SSL_REDIRECT") == {"SECURE_SSL_REDIRECT": False}


@pytest.mark.parametrize("secret", ["change-me", "django-insecure-" + "x" * 60, "a" * 60])
def test_production_refuses_a_weak_or_placeholder_secret_key(secret):
    result = run(production_env(DJANGO_SECRET_KEY=secret), "-c", "import kotally.settings")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is weak" in result.stderr


@pytest.mark.parametrize(
    "key", ["", "not-a-fernet-key", "ZGV2LW9ubHkta290YWxseS1maWVsZC1rZXktMzJieXQ="]
)
def test_production_refuses_a_missing_invalid_or_dev_encryption_key(key):
    result = run(production_env(FIELD_ENCRYPTION_KEY=key), "-c", "import kotally.settings")
    assert result.returncode != 0 and "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_empty_values_from_env_example_never_override_safe_defaults():
    env = production_env(GHL_WEBHOOK_ED25519_PUBLIC_KEY="", GHL_SCOPES="", SECURE_COOKIES="")
    values = settings_value(
        env, "GHL_WEBHOOK_ED25519_PUBLIC_KEY", "GHL_SCOPES", "SESSION_COOKIE_SECURE"
    )
    assert "BEGIN PUBLIC KEY" in values["GHL_WEBHOOK_ED25519_PUBLIC_KEY"]
    assert "contacts.readonly" in values["GHL_SCOPES"]
    assert values["SESSION_COOKIE_SECURE"] is True


def test_env_example_copied_as_is_is_refused_in_production():
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "kotally.settings"}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    result = run(env, "-c", "import kotally.settings")
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr


def test_production_without_redis_refuses_to_start():
    """Item 10: without Redis each gunicorn worker would keep its own rate-limit bucket."""
    result = run(production_env(REDIS_URL=None), "-c", "import kotally.settings")
    assert result.returncode != 0 and "REDIS_URL is required" in result.stderr


def test_a_declared_single_process_run_may_go_without_redis():
    env = production_env(REDIS_URL=None, KOTALLY_SINGLE_PROCESS="True")
    assert settings_value(env, "REDIS_URL") == {"REDIS_URL": ""}


def test_redirect_sends_plain_http_to_https_but_not_health_probes_or_proxied_https(
    db, client, settings
):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)
