"""Safe actions: each destructive or billed action first shows what happens and what it
costs (GET changes nothing), then acts on the confirmation's POST; a rotated token can keep
working for a chosen grace period; locations have names."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ApiClient
from api.services import authenticate_token
from entitlements.models import ProductConfig
from locations.models import Location

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name, args, words",
    [
        ("location-remove", ["loc_main"], "Its API tokens stop working at once."),
        ("location-new-api", [], "$19/month more while it is active"),
    ],
)
def test_location_actions_ask_first_and_change_nothing(
    login, admin_user, location, name, args, words
):
    response = login(admin_user).get(reverse(name, args=args))
    assert words in response.content.decode()
    assert list(Location.objects.values_list("status", flat=True)) == ["active"]


def test_config_removal_says_what_members_lose(login, admin_user, package, api, token):
    api.post_json(
        "/api/v2/grants",
        {
            "location_id": "loc_main",
            "external_contact_id": "m1",
            "request_id": "g1",
            "external_payment_id": "p1",
            "product_config_id": package.public_id,
        },
    )
    html = login(admin_user).get(reverse("product-config-remove", args=[package.public_id]))
    assert "1 member(s) lose 10 usable credit(s) of it." in html.content.decode()
    assert ProductConfig.objects.get(pk=package.pk).active


def test_member_removal_asks_first(login, owner, viewer):
    membership = viewer.memberships.get()
    response = login(owner).get(reverse("member-remove", args=[membership.pk]))
    assert "can no longer sign in to this workspace" in response.content.decode()
    assert viewer.memberships.exists()


def test_rotate_offers_when_the_old_token_stops(login, admin_user, token):
    api_client = ApiClient.objects.get()
    html = login(admin_user).get(reverse("api-client-rotate", args=[api_client.client_id]))
    assert 'name="expires" value="24h"' in html.content.decode()
    assert authenticate_token(token) == api_client


def test_rotate_with_a_grace_period_keeps_both_tokens_until_it_ends(login, admin_user, token):
    api_client = ApiClient.objects.get()
    page = login(admin_user).post(
        reverse("api-client-rotate", args=[api_client.client_id]), {"expires": "1h"}, follow=True
    )
    assert authenticate_token(token) == api_client
    assert "the old one stops working in 1 hour" in page.content.decode()
    ApiClient.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_token(token) is None


def test_rename_a_location_shows_the_name(login, admin_user, location):
    client = login(admin_user)
    client.post(reverse("location-rename", args=["loc_main"]), {"name": "Downtown studio"})
    assert Location.objects.get().name == "Downtown studio"
    assert "Downtown studio" in client.get(reverse("locations")).content.decode()


def test_viewer_cannot_rename(login, viewer, location):
    response = login(viewer).post(reverse("location-rename", args=["loc_main"]), {"name": "X"})
    assert response.status_code == 403
