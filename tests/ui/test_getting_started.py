import pytest
from django.urls import reverse

from accounts.models import BillingStatus
from locations.models import Location, LocationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def unbilled(workspace):
    workspace.billing_status = BillingStatus.NONE
    workspace.save()
    return workspace


def test_api_path_is_refused_before_billing_with_a_pointer_to_billing(login, owner, unbilled):
    response = login(owner).post(reverse("use-api"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("getting-started")
    assert "needs billing first" in response.content.decode()
    assert not Location.objects.exists()


def test_start_trial_sets_trialing_for_14_days(login, owner, unbilled):
    login(owner).post(reverse("billing-start-trial"), {"next": reverse("getting-started")})
    unbilled.refresh_from_db()
    assert unbilled.billing_status == BillingStatus.TRIALING
    assert (unbilled.trial_ends_at - unbilled.created_at).days in (13, 14)


def test_start_trial_returns_to_getting_started(login, owner, unbilled):
    response = login(owner).post(
        reverse("billing-start-trial"), {"next": reverse("getting-started")}
    )
    assert response.url == reverse("getting-started")


def test_start_trial_ignores_an_offsite_next(login, owner, unbilled):
    response = login(owner).post(reverse("billing-start-trial"), {"next": "https://evil.test/"})
    assert response.url == reverse("billing")


def test_api_path_with_billing_creates_the_location_and_lands_on_api_clients(
    login, owner, workspace
):
    client = login(owner)
    response = client.post(reverse("use-api"))
    location = Location.objects.get(workspace=workspace)
    assert response.url == reverse("api-clients")
    assert (location.kind, location.status) == (LocationKind.API, "active")
    assert location.location_id in client.get(response.url).content.decode()


def test_api_path_twice_reuses_the_api_location(login, owner, workspace):
    client = login(owner)
    client.post(reverse("use-api"))
    client.post(reverse("use-api"))
    assert workspace.locations.count() == 1


def test_getting_started_explains_ghl_is_not_configured(login, owner, settings):
    settings.GHL_CLIENT_ID = ""
    response = login(owner).get(reverse("getting-started"))
    assert "not configured on this server" in response.content.decode()


def test_getting_started_links_to_ghl_connect_when_configured(login, owner, settings):
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "id", "secret"
    response = login(owner).get(reverse("getting-started"))
    assert f'href="{reverse("ghl-connect")}"' in response.content.decode()


def test_checklist_counts_done_steps(login, owner, package, token):
    response = login(owner).get(reverse("getting-started"))
    assert "4 of 4 steps done" in response.content.decode()


def test_locations_page_lists_status_and_reason(login, viewer, location):
    location.status = "pending"
    location.save()
    response = login(viewer).get(reverse("locations"))
    assert "pending: billing not active" in response.content.decode()


def test_removing_a_location_marks_it_removed_and_stops_its_tokens(
    login, admin_user, location, api
):
    login(admin_user).post(reverse("location-remove", args=[location.location_id]))
    location.refresh_from_db()
    response = api.get("/api/v2/contacts/x?location_id=loc_main")
    assert location.status == "removed"
    assert response.status_code == 401


def test_new_api_location_from_the_locations_page(login, admin_user, location):
    login(admin_user).post(reverse("location-new-api"))
    assert location.workspace.locations.filter(status="active").count() == 2


def test_api_path_is_refused_when_billing_is_suspended_even_with_an_api_location(
    login, owner, location
):
    location.workspace.billing_status = BillingStatus.SUSPENDED
    location.workspace.save()
    response = login(owner).post(reverse("use-api"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("getting-started")
    assert "needs billing first" in response.content.decode()
