"""Layout and keyboard use of the console pages (issue 12): no table cuts off its actions at
1280 px, phones keep status and reason visible and collapse the navigation, a skip link, and
focus on the first error after a failed submit."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import _pages, studio  # noqa: F401 (fixture)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CUT_OFF = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(el => el.scrollWidth > el.clientWidth + 1).length"""


def _sign_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")


def test_no_table_is_cut_off_at_1280_px(page, studio):  # noqa: F811
    _sign_in(page)
    cut = {}
    for path in _pages(studio):
        page.goto(path)
        cut[path] = page.evaluate(CUT_OFF)
    assert {path: n for path, n in cut.items() if n} == {}


def test_phone_collapses_the_nav_and_stacks_event_rows(page, studio):  # noqa: F811
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page)
    page.goto("/events/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    status = page.locator("td[data-label=Status]").first
    box = status.bounding_box()
    assert box["x"] + box["width"] <= 390
    expect(status).to_contain_text("refused")


def test_skip_link_and_focus_on_the_first_error(page, studio):  # noqa: F811
    _sign_in(page)
    page.goto(f"/contacts/{studio['member'].pk}/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.locator("summary", has_text="Deduct credits").click()
    page.locator("#deduct_note").fill("why")
    page.get_by_role("button", name="Deduct credits").click()
    expect(page.locator("#deduct_product_config")).to_be_focused()


def test_config_form_shows_the_fields_of_the_chosen_kind(page, studio):  # noqa: F811
    _sign_in(page)
    page.goto("/product-configs/new/")
    page.get_by_label("Kind").select_option("membership")
    expect(page.get_by_label("Credits in the package")).to_be_hidden()
    expect(page.get_by_label("Credits per month (membership)")).to_be_visible()
    expect(page.get_by_label("GHL product id")).to_be_hidden()  # an API location
    page.get_by_label("Kind").select_option("package")
    expect(page.get_by_label("Credits in the package")).to_be_visible()
