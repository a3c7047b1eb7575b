"""Only the embed may be framed, and only by GoHighLevel (plus EMBED_FRAME_ANCESTORS); every
other page keeps `frame-ancestors 'none'` and `X-Frame-Options: DENY`. The rest of the site's
Content-Security-Policy (script-src 'self', ...) applies to the embed as to every page."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db
GHL = (
    "https://app.gohighlevel.com https://*.gohighlevel.com https://app.leadconnectorhq.com "
    "https://*.leadconnectorhq.com"
)


def _policy(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


@pytest.mark.parametrize("path", ["/embed/", "/embed/dashboard", "/embed/panel?contact_id=x"])
def test_embed_pages_may_be_framed_by_ghl_only(embed_client, path):
    response = embed_client.get(path)
    assert _policy(response)["frame-ancestors"] == GHL
    assert "X-Frame-Options" not in response


def test_embed_pages_keep_the_rest_of_the_policy(embed_client):
    policy = _policy(embed_client.get("/embed/"))
    assert (policy["script-src"], policy["style-src"]) == ("'self'", "'self'")


def test_white_label_domains_are_added(embed_client, settings):
    settings.EMBED_FRAME_ANCESTORS = ["https://app.mystudio.example"]
    response = embed_client.get("/embed/dashboard")
    assert _policy(response)["frame-ancestors"] == f"{GHL} https://app.mystudio.example"


def test_the_denial_page_of_an_embed_route_shows_inside_ghl_too(client):
    response = client.get("/embed/dashboard")
    assert response.status_code == 401
    assert _policy(response)["frame-ancestors"] == GHL


def test_embed_pages_are_never_cached(embed_client):
    assert "no-store" in embed_client.get("/embed/dashboard")["Cache-Control"]


@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz", "/embed/nope"])
def test_every_other_page_refuses_to_be_framed(client, path):
    response = client.get(path)
    assert _policy(response)["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_settings_refuse_an_ancestor_that_is_not_an_origin():
    """`;` would start a new CSP directive: the process must not start with it."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "True",
        "EMBED_FRAME_ANCESTORS": "https://ok.example,https://x.example; script-src *",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import kotally.settings"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "EMBED_FRAME_ANCESTORS" in result.stderr
