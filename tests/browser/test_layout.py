"""The admin pages at phone width, and labels on every form control."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGES = [
    "/getting-started/",
    "/locations/",
    "/api-clients/",
    "/product-configs/",
    "/product-configs/new/",
    "/contacts/",
    "/billing/",
    "/settings/",
]
# Controls a person fills in or picks; a control counts as labelled when it has a <label>,
# an aria-label or aria-labelledby.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id)"""


def _sign_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/getting-started/")


def test_every_form_control_has_a_label(page, owner, package, viewer):
    _sign_in(page, owner)
    missing = {}
    for path in PAGES:
        page.goto(path)
        missing[path] = page.evaluate(UNLABELLED)
    assert missing == {path: [] for path in PAGES}


def test_pages_fit_a_phone_screen_without_sideways_scrolling(page, owner, package, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, owner)
    overflow = {}
    for path in PAGES:
        page.goto(path)
        overflow[path] = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    page.goto("/getting-started/")
    screenshot(page, "getting-started-phone")
    assert overflow == {path: False for path in PAGES}
