"""Sign up and sign in send people where they were going: a safe `next`, and above all a GHL
install parked by the OAuth callback (SPEC §5.1: "not signed in → sign in or sign up, bound to
the pending install")."""

import pytest
import responses
from django.urls import reverse

from locations.models import Location
from tests.conftest import PASSWORD
from tests.ghl_oauth.conftest import API, TOKEN_URL, token_answer

pytestmark = pytest.mark.django_db
SIGNUP = {
    "email": "new@example.com",
    "password": "a-long-unusual-passphrase",
    "workspace_name": "Yoga Loft",
}


@pytest.fixture
def ghl_app(settings):
    settings.GHL_CLIENT_ID = "0123456789abcdef01234567-kotally"
    settings.GHL_CLIENT_SECRET = "test-client-secret"
    settings.GHL_API_BASE = API
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TOKEN_URL, json=token_answer())
        yield mock


@pytest.fixture
def parked(client, ghl_app):
    """A browser that went through GHL's consent without being signed in."""
    assert client.get("/oauth/ghl/callback?code=c").status_code == 200
    return client


def test_signup_follows_a_same_site_next(client):
    response = client.post(reverse("signup") + "?next=/contacts/", SIGNUP)
    assert response.url == "/contacts/"


def test_signup_ignores_a_next_pointing_to_another_site(client):
    response = client.post(reverse("signup"), {**SIGNUP, "next": "https://evil.example/x"})
    assert response.url == reverse("getting-started")


def test_signup_form_keeps_next_in_a_hidden_field_and_the_sign_in_link(client):
    html = client.get(reverse("signup") + "?next=/oauth/ghl/finish").content.decode()
    assert '<input type="hidden" name="next" value="/oauth/ghl/finish">' in html
    assert "/accounts/login/?next=/oauth/ghl/finish" in html


def test_signup_with_a_pending_ghl_install_goes_to_finish_it(parked):
    response = parked.post(reverse("signup"), SIGNUP)
    assert response.url == reverse("ghl-finish")


def test_signup_then_finish_links_the_ghl_location_to_the_new_workspace(parked):
    response = parked.post(reverse("signup"), SIGNUP, follow=True)  # → the confirm page
    parked.post(reverse("ghl-finish"))
    location = Location.objects.get(location_id="ghl_loc_1")
    assert response.status_code == 200
    assert location.workspace.name == "Yoga Loft"


def test_sign_in_with_a_pending_ghl_install_goes_to_finish_it(parked, owner):
    response = parked.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.url == reverse("ghl-finish")


def test_sign_in_follows_a_same_site_next(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.email, "password": PASSWORD, "next": "/billing/"}
    )
    assert response.url == "/billing/"


def test_sign_in_ignores_a_next_pointing_to_another_site(client, owner):
    response = client.post(
        reverse("login"),
        {"username": owner.email, "password": PASSWORD, "next": "//evil.example/"},
    )
    assert response.url == reverse("dashboard")  # the default landing page


def test_signed_in_visitor_of_signup_is_sent_to_the_pending_install(parked, owner):
    parked.force_login(owner)
    assert parked.get(reverse("signup")).url == reverse("ghl-finish")


def test_sign_in_accepts_the_email_in_any_case(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302


def test_viewer_finishing_a_parked_install_is_refused_and_the_install_is_kept(parked, viewer):
    parked.force_login(viewer)
    assert parked.get(reverse("ghl-finish")).status_code == 403
    assert parked.session.get("ghl_pending_install")
