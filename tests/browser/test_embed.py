"""Kotally inside GoHighLevel, in a real browser: a fake GHL parent page on another origin
frames /embed/ and answers REQUEST_USER_DATA with a context encrypted the CryptoJS way."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import UNLABELLED
from tests.embed.conftest import location, studio  # noqa: F401 (fixtures: a GHL location)
from tests.embed.cryptojs import SECRET, ghl_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SANDBOX_TOKEN = "browser-sandbox-token"
WIDTHS = (360, 400, 1000, 1200)
SCREENSHOT_WIDTHS = (400, 1000)

# GHL's side of the handshake (INTEGRATIONS.md): answer the frame that asks.
PARENT = """<!doctype html><html><head><title>GoHighLevel (test double)</title></head><body>
<h1>Fake GoHighLevel</h1>
<iframe id="app" title="Kotally" src="{src}" style="width:1000px;height:900px"></iframe>
<script>
  const payload = {payload};
  window.addEventListener("message", (event) => {{
    if (payload && event.data && event.data.message === "REQUEST_USER_DATA") {{
      event.source.postMessage({{message: "REQUEST_USER_DATA_RESPONSE", payload}}, "*");
    }}
  }});
</script></body></html>"""


class FakeGhl:
    """A parent page per path, served from 127.0.0.1 (a different site than the live server's
    localhost, so the frame is cross-site as inside GHL)."""

    def __init__(self):
        pages = self.pages = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def frame(self, path: str, src: str, payload: str | None) -> str:
        self.pages[path] = PARENT.format(src=src, payload=json.dumps(payload))
        return f"{self.origin}{path}"


@pytest.fixture
def ghl(settings):
    fake = FakeGhl()
    settings.GHL_SHARED_SECRET = SECRET
    settings.EMBED_FRAME_ANCESTORS = [fake.origin]
    yield fake
    fake.server.shutdown()


def test_ghl_frames_the_dashboard_then_a_contact_panel(page, live_server, ghl, studio):  # noqa: F811
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(ghl.frame("/custom-page", f"{live_server.url}/embed/", ghl_payload()))
    app = page.frame_locator("#app")
    expect(app.get_by_role("heading", name="Low balance")).to_be_visible()
    expect(app.get_by_text("Jane Front Desk")).to_be_visible()
    app.get_by_role("table").get_by_role("link", name="Ann Member").click()
    expect(app.get_by_role("heading", name="Ann Member")).to_be_visible()
    expect(app.get_by_test_id("credits-total")).to_have_text("9")
    assert not [text for text in console if "Content Security Policy" in text], console


def test_ghl_contact_link_opens_the_panel_of_that_contact(page, live_server, ghl, studio):  # noqa: F811
    src = f"{live_server.url}/embed/?contact_id=member-2"
    page.goto(ghl.frame("/contact-page", src, ghl_payload()))
    app = page.frame_locator("#app")
    expect(app.get_by_role("heading", name="Bob Member")).to_be_visible()
    expect(app.get_by_text("No single lot holds enough credits")).to_be_visible()


def test_the_admin_refuses_to_be_framed_by_the_same_parent(page, live_server, ghl, location):  # noqa: F811
    refusals = []
    page.on("console", lambda message: refusals.append(message.text))
    page.goto(ghl.frame("/admin", f"{live_server.url}/accounts/login/", ghl_payload()))
    page.wait_for_load_state("load")
    admin = page.frame_locator("#app")
    expect(admin.get_by_label("Email")).to_have_count(0)
    assert any("frame-ancestors 'none'" in text for text in refusals), refusals


def test_a_context_under_the_wrong_secret_shows_open_kotally(page, live_server, ghl, studio):  # noqa: F811
    payload = ghl_payload(secret="not-our-shared-secret")
    page.goto(ghl.frame("/custom-page", f"{live_server.url}/embed/", payload))
    app = page.frame_locator("#app")
    expect(app.get_by_text("Kotally could not verify your GoHighLevel sign-in.")).to_be_visible()
    expect(app.get_by_role("link", name="Open Kotally")).to_be_visible()
    expect(app.get_by_text("Ann Member")).to_have_count(0)


def test_a_parent_that_never_answers_gets_a_visible_message(page, live_server, ghl):
    page.goto(ghl.frame("/silent", f"{live_server.url}/embed/", None))
    app = page.frame_locator("#app")
    expect(app.get_by_text("GoHighLevel did not answer.")).to_be_visible(timeout=8_000)
    expect(app.get_by_role("link", name="Open Kotally")).to_be_visible()


def test_opened_outside_ghl_it_says_so_at_once(page, ghl):
    page.goto("/embed/")
    expect(page.get_by_text("GoHighLevel did not answer.")).to_be_visible(timeout=1_000)


def test_pages_fit_widths_from_360_to_1200_px(page, settings, studio, screenshot):  # noqa: F811
    settings.EMBED_SANDBOX_TOKEN = SANDBOX_TOKEN
    page.goto(f"/embed/sandbox-launch?location_id=loc_main&user_id=jane&token={SANDBOX_TOKEN}")
    expect(page.get_by_role("heading", name="Low balance")).to_be_visible()
    overflow, unlabelled = {}, {}
    for name, path in (
        ("dashboard", "/embed/dashboard"),
        ("panel", "/embed/panel?contact_id=member-2"),
    ):
        page.goto(path)
        unlabelled[name] = page.evaluate(UNLABELLED)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            overflow[name, width] = page.evaluate(
                "document.documentElement.scrollWidth > window.innerWidth"
            )
            if width in SCREENSHOT_WIDTHS:
                screenshot(page, f"embed-{name}-{width}")
    assert not any(overflow.values()), overflow
    assert unlabelled == {"dashboard": [], "panel": []}
