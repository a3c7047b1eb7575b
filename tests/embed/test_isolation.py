"""The embed is read-only and shows one location: the session's. Ids in the URL never reach
another location, and no route takes a write method."""

import pytest
from django.test import Client

from entitlements.models import Contact, Entitlement, LedgerEntry
from tests.embed.conftest import sign_in

pytestmark = pytest.mark.django_db
STRANGER_NAMES = ("Stranger Sam", "Their Member", "Stranger Pack", "Stranger Gym")
READ_ROUTES = [
    "/embed/",
    "/embed/dashboard",
    "/embed/panel?contact_id=member-1",
    "/embed/sandbox-launch",
]


def _leaks(response) -> list[str]:
    body = response.content.decode()
    return [name for name in STRANGER_NAMES if name in body]


def test_another_locations_contact_id_is_not_found(embed_client, studio, stranger_studio):
    response = embed_client.get("/embed/panel", {"contact_id": "their-member"})
    assert response.status_code == 404 and _leaks(response) == []


def test_a_shared_contact_id_shows_this_locations_member(embed_client, studio, stranger_studio):
    response = embed_client.get("/embed/panel", {"contact_id": "member-1"})
    assert "Ann Member" in response.content.decode() and _leaks(response) == []


@pytest.mark.parametrize(
    "params",
    [
        {"location_id": "loc_stranger"},
        {"locationId": "loc_stranger"},
        {"location": "loc_stranger", "q": "their"},
        {"location_id": "loc_stranger", "q": "member"},
    ],
)
def test_a_forged_location_in_the_url_is_ignored(embed_client, studio, stranger_studio, params):
    dashboard = embed_client.get("/embed/dashboard", params)
    panel = embed_client.get("/embed/panel", {**params, "contact_id": "their-member"})
    assert _leaks(dashboard) == [] and _leaks(panel) == []
    assert panel.status_code == 404


def test_signing_in_to_the_stranger_location_shows_only_theirs(studio, stranger_studio):
    client = Client()
    assert sign_in(client, "loc_stranger").status_code == 204
    body = client.get("/embed/dashboard").content.decode()
    assert "Stranger Sam" in body and "Ann Member" not in body and "Bob Member" not in body


@pytest.mark.parametrize("path", READ_ROUTES)
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_read_routes_refuse_write_methods(embed_client, studio, settings, path, method):
    settings.EMBED_SANDBOX_TOKEN = "sandbox-token"
    before = (Contact.objects.count(), Entitlement.objects.count(), LedgerEntry.objects.count())
    response = getattr(embed_client, method)(path)
    assert response.status_code == 405
    after = (Contact.objects.count(), Entitlement.objects.count(), LedgerEntry.objects.count())
    assert after == before


def test_auth_is_the_one_post_and_refuses_put_and_delete(embed_client):
    assert embed_client.put("/embed/auth").status_code == 405
    assert embed_client.delete("/embed/auth").status_code == 405
