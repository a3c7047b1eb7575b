"""Issue 13 item 7: one Content-Security-Policy with script-src 'self' on every page, Swagger
UI served from the app (no CDN), nothing inline that the policy would refuse, and a view can
still open its own frame-ancestors (the GHL embed) while keeping the rest of the policy."""

import re
from pathlib import Path

import pytest
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from tests.factories import UserFactory

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PAGES = ["/accounts/login/", "/accounts/signup/", "/api/v2/docs/", "/staff/login/", "/healthz"]


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


@pytest.mark.parametrize("path", PAGES)
def test_every_page_allows_only_its_own_scripts_and_no_framing(client, db, path):
    response = client.get(path)
    policy = _directives(response)
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and response["X-Frame-Options"] == "DENY"


def test_the_support_admin_has_the_same_policy(login, db):
    superuser = UserFactory(email="ops@kotally.test", is_staff=True, is_superuser=True)
    policy = _directives(login(superuser).get("/staff/"))
    assert (policy["script-src"], policy["frame-ancestors"]) == ("'self'", "'none'")


def test_api_docs_load_swagger_ui_from_this_app_not_a_cdn(client, db):
    html = client.get("/api/v2/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_api_docs_start_up_script_is_served_as_javascript(client, db):
    response = client.get("/api/v2/docs/?script=")
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_template_has_inline_script_style_or_handlers(template):
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script>"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), "inline style or handler"


def test_a_view_can_open_its_own_frame_ancestors_and_keep_the_rest_of_the_policy(settings):
    """How the embed (SPEC §5.4) lets GoHighLevel frame it: django-csp's per-response
    override (what @csp_replace sets), not a header of its own."""

    def embed_view(request):
        response = HttpResponse("embed")
        response._csp_replace = {"frame-ancestors": ["https://app.gohighlevel.com"]}
        return response

    response = CSPMiddleware(embed_view)(RequestFactory().get("/embed/"))
    policy = _directives(response)
    assert policy["frame-ancestors"] == "https://app.gohighlevel.com"
    assert policy["script-src"] == "'self'"
