"""/embed/, /embed/dashboard and /embed/panel: what a signed-in GHL user sees, and the
documented page when the session is missing, expired or the location stops being served."""

import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client

from accounts.models import BillingStatus
from embed.sessions import COOKIE
from locations.models import LocationStatus
from tests.embed.conftest import refused_booking

pytestmark = pytest.mark.django_db
DASHBOARD, PANEL = "/embed/dashboard", "/embed/panel"


def _denial(response) -> str:
    body = response.content.decode()
    assert "Open Kotally" in body
    return body.split('data-denial="')[1].split('"')[0]


def test_index_answers_without_a_session_and_starts_the_handshake(client):
    response = client.get("/embed/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-auth-url="/embed/auth"' in body and 'data-next-url="/embed/dashboard"' in body
    assert "GoHighLevel did not answer" in body and "Open Kotally" in body


def test_index_with_a_contact_continues_to_that_contacts_panel(client):
    body = client.get("/embed/", {"contact_id": "c 1&x"}).content.decode()
    assert 'data-next-url="/embed/panel?contact_id=c+1%26x"' in body


def test_index_says_so_when_the_shared_secret_is_unset(client, settings):
    settings.GHL_SHARED_SECRET = ""
    response = client.get("/embed/")
    assert (response.status_code, _denial(response)) == (503, "not_configured")


def test_dashboard_shows_the_location_at_a_glance(embed_client, studio):
    body = embed_client.get(DASHBOARD).content.decode()
    assert "Main Studio" in body and "Jane Front Desk" in body
    members = body.split('id="members-h"')[1]
    assert members.index("Bob Member") < members.index("Ann Member")  # lowest balance first
    low = body.split('id="low-h"')[1].split("</section>")[0]
    assert "Bob Member" in low and "Ann Member" not in low
    expiring = body.split('id="expiring-h"')[1].split("</section>")[0]
    assert "Bob Member" in expiring and "Monthly Membership" in expiring


def test_dashboard_activity_names_grants_deducts_and_refusals_in_words(embed_client, studio):
    activity = embed_client.get(DASHBOARD).content.decode().split('id="activity-h"')[1]
    assert "granted 10 credits · 10-Class Pack" in activity
    assert "used 1 credit · 10-Class Pack" in activity
    assert "booking refused" in activity
    assert "No single lot holds enough credits for this amount." in activity


def test_dashboard_search_finds_members_by_name_email_or_id(embed_client, studio):
    for query in ("ann", "member-1@example", "member-1"):
        body = embed_client.get(DASHBOARD, {"q": query}).content.decode()
        results = body.split('id="members-h"')[1].split("</section>")[0]
        assert "Ann Member" in results and "Bob Member" not in results, query


def test_dashboard_empty_states(embed_client):
    body = embed_client.get(DASHBOARD).content.decode()
    assert "No members hold credits yet" in body
    assert "Nothing has happened in this location yet." in body


def test_panel_shows_credits_lots_payments_bookings_and_refusals(embed_client, studio):
    body = embed_client.get(PANEL, {"contact_id": "member-2"}).content.decode()
    assert "Bob Member" in body
    assert 'data-testid="credits-total">1<' in body
    assert "1 / 4" in body  # the membership lot with its expiry
    assert "$120.00 USD" in body
    assert "No single lot holds enough credits for this amount." in body
    ann = embed_client.get(PANEL, {"contact_id": "member-1"}).content.decode()
    assert "cal_pack" in ann.split("Upcoming bookings")[1]


def test_panel_links_to_the_admin_contact_page_in_a_new_tab(embed_client, studio):
    body = embed_client.get(PANEL, {"contact_id": "member-1"}).content.decode()
    assert 'href="/contacts/' in body and 'target="_blank"' in body


@pytest.mark.parametrize("contact_id", ["nobody", ""])
def test_panel_for_an_unknown_contact_offers_open_kotally(embed_client, studio, contact_id):
    response = embed_client.get(PANEL, {"contact_id": contact_id})
    body = response.content.decode()
    assert response.status_code == 404
    assert "Open Kotally" in body and 'href="/contacts/' in body


@pytest.mark.parametrize("path", [DASHBOARD, f"{PANEL}?contact_id=member-1"])
def test_without_a_session_pages_give_the_401_page(client, studio, path):
    response = client.get(path)
    assert (response.status_code, _denial(response)) == (401, "session_ended")
    assert "Ann Member" not in response.content.decode()


def test_the_401_page_offers_to_sign_in_again_back_to_the_contact(client, studio):
    body = client.get(PANEL, {"contact_id": "member-1"}).content.decode()
    assert 'href="/embed/?contact_id=member-1"' in body


def test_an_expired_embed_session_gives_the_401_page(embed_client, studio):
    value = embed_client.cookies[COOKIE].value
    nine_hours_later = time.time() + 9 * 3600
    with mock.patch("django.core.signing.time.time", return_value=nine_hours_later):
        response = embed_client.get(DASHBOARD)
    assert (response.status_code, _denial(response)) == (401, "session_ended")
    assert signing.loads(value, salt="kotally.embed.session")  # the same value, only older


def test_a_forged_session_cookie_gives_the_401_page(studio, stranger_location):
    client = Client()
    client.cookies[COOKIE] = signing.dumps({"l": stranger_location.pk, "u": "x", "n": "x"})
    response = client.get(DASHBOARD)
    assert (response.status_code, _denial(response)) == (401, "session_ended")


def test_a_location_disconnected_after_sign_in_is_no_longer_shown(embed_client, studio):
    studio.status = LocationStatus.DISCONNECTED
    studio.save()
    for path in (DASHBOARD, f"{PANEL}?contact_id=member-1"):
        response = embed_client.get(path)
        assert (response.status_code, _denial(response)) == (403, "not_connected")
        assert "Ann Member" not in response.content.decode()


def test_billing_suspended_after_sign_in_hides_the_data(embed_client, studio, workspace):
    workspace.billing_status = BillingStatus.SUSPENDED
    workspace.save()
    for path in (DASHBOARD, f"{PANEL}?contact_id=member-1"):
        response = embed_client.get(path)
        assert (response.status_code, _denial(response)) == (403, "billing_suspended")
        assert "Ann Member" not in response.content.decode()


def test_a_late_cancel_shows_as_no_credit_back(embed_client, studio):
    event = refused_booking(studio, "member-1", reason="CANCELLATION_WINDOW_EXPIRED", n=2)
    event.event_type = "AppointmentDelete"
    event.save()
    body = embed_client.get(PANEL, {"contact_id": "member-1"}).content.decode()
    assert "no credit back" in body and "inside the cancellation window" in body


def test_a_cancel_with_nothing_to_give_back_is_not_a_refusal(embed_client, studio):
    refused_booking(studio, "member-1", reason="NOTHING_TO_RESTORE", n=3)
    body = embed_client.get(PANEL, {"contact_id": "member-1"}).content.decode()
    assert "No refused bookings in the last 30 days." in body
