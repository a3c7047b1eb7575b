import pytest
from django.urls import reverse

from accounts.models import BillingStatus
from api.models import ApiClient
from api.services import authenticate_token
from entitlements.models import LedgerEntry
from tests.factories import ProductConfigFactory

pytestmark = pytest.mark.django_db
NEW = {"location": "loc_main", "name": "Booking app", "scopes": ["deduct", "grant", "summary"]}


def _token_on(page) -> str:
    html = page.content.decode()
    start = html.index('id="one-time-token">') + len('id="one-time-token">')
    return html[start : html.index("</code>", start)]


def test_new_client_shows_its_token_once(login, admin_user, location):
    client = login(admin_user)
    first = client.post(reverse("api-client-new"), NEW, follow=True)
    token = _token_on(first)
    again = client.get(reverse("api-clients"))
    assert authenticate_token(token).name == "Booking app"
    assert token not in again.content.decode()


def test_new_client_gets_exactly_the_chosen_scopes(login, admin_user, location):
    login(admin_user).post(reverse("api-client-new"), NEW)
    assert ApiClient.objects.get(name="Booking app").scopes == ["deduct", "grant", "summary"]


def test_token_page_is_not_cached(login, admin_user, location):
    response = login(admin_user).post(reverse("api-client-new"), NEW, follow=True)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scopes": []}, "Pick at least one scope"),
        ({"scopes": ["admin"]}, "not one of the available choices"),
        ({"name": ""}, "required"),
        ({"location": "loc_nowhere"}, "not one of the available choices"),
    ],
)
def test_new_client_form_shows_validation_errors(login, admin_user, location, change, message):
    response = login(admin_user).post(reverse("api-client-new"), {**NEW, **change})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiClient.objects.exists()


def test_new_client_needs_billing(login, admin_user, location, workspace):
    workspace.billing_status = BillingStatus.NONE
    workspace.save()
    response = login(admin_user).post(reverse("api-client-new"), NEW, follow=True)
    assert "need billing" in response.content.decode()
    assert not ApiClient.objects.exists()


def test_rotate_shows_a_new_token_and_the_old_one_stops_working(login, admin_user, token):
    api_client = ApiClient.objects.get()
    page = login(admin_user).post(
        reverse("api-client-rotate", args=[api_client.client_id]), follow=True
    )
    new_token = _token_on(page)
    assert authenticate_token(token) is None
    assert authenticate_token(new_token) == api_client


def test_deactivate_stops_the_token(login, admin_user, token):
    api_client = ApiClient.objects.get()
    login(admin_user).post(reverse("api-client-deactivate", args=[api_client.client_id]))
    assert authenticate_token(token) is None


def test_a_deactivated_client_cannot_be_rotated(login, admin_user, token):
    api_client = ApiClient.objects.get()
    client = login(admin_user)
    client.post(reverse("api-client-deactivate", args=[api_client.client_id]))
    page = client.post(reverse("api-client-rotate", args=[api_client.client_id]), follow=True)
    assert 'id="one-time-token"' not in page.content.decode()


def test_viewers_see_clients_but_no_form(login, viewer, token):
    html = login(viewer).get(reverse("api-clients")).content.decode()
    assert "tests" in html
    assert "New API client" not in html


@pytest.mark.parametrize(
    "preset, scopes",
    [
        ("booking", ["check", "deduct", "restore"]),
        ("readonly", ["summary"]),
        ("full", ["check", "deduct", "grant", "restore", "summary"]),
    ],
)
def test_scope_presets(login, admin_user, location, preset, scopes):
    login(admin_user).post(reverse("api-client-new"), {**NEW, "scopes": [], "preset": preset})
    assert ApiClient.objects.get().scopes == scopes


def test_new_client_page_shows_a_ready_first_call(login, admin_user, location, package):
    page = login(admin_user).post(
        reverse("api-client-new"), {**NEW, "preset": "booking"}, follow=True
    )
    html = page.content.decode()
    token = _token_on(page)
    assert f"Authorization: Bearer {token}" in html
    assert f"&quot;product_config_id&quot;: &quot;{package.public_id}&quot;" in html
    assert "&quot;calendar_id&quot;: &quot;cal_pack&quot;" in html


def test_test_deduct_grants_and_deducts_one_credit_of_the_test_member(
    login, admin_user, location, package
):
    client = login(admin_user)
    client.post(reverse("api-client-new"), {**NEW, "preset": "booking"})
    api_client = ApiClient.objects.get()
    response = client.post(
        reverse("api-client-test", args=[api_client.client_id]),
        {"product_config": package.public_id},
        follow=True,
    )
    html = response.content.decode()
    assert "Test deduct done" in html
    assert LedgerEntry.objects.filter(contact__external_id="test-member").count() == 2
    assert response.context["contact"].external_id == "test-member"


def test_test_deduct_of_another_workspace_config_is_404(
    login, admin_user, location, token, stranger_location
):
    foreign = ProductConfigFactory(location=stranger_location)
    response = login(admin_user).post(
        reverse("api-client-test", args=[ApiClient.objects.get().client_id]),
        {"product_config": foreign.public_id},
    )
    assert response.status_code == 404
