"""Issue 13 item 7 in a real browser: under the Content-Security-Policy, Swagger UI and the
admin's scripts run, and Chromium reports no violation."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def violations(page):
    seen = []
    page.on("console", lambda m: "Content Security Policy" in m.text and seen.append(m.text))
    return seen


def test_swagger_ui_renders_under_the_policy(page, violations):
    page.goto("/api/v2/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Kotally machine API" in page.inner_text(".swagger-ui .info .title")
    assert violations == []


def test_admin_pages_run_their_scripts_under_the_policy(page, violations, owner, location):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/getting-started/")
    for path in ["/product-configs/new/", "/api-clients/", "/settings/", "/billing/"]:
        page.goto(path)
    assert violations == []
