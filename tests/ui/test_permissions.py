"""Every admin page by role: members read, viewers change nothing, strangers see nothing."""

import pytest
from django.urls import reverse

from api.models import ApiClient

pytestmark = pytest.mark.django_db

PAGES = [
    "getting-started",
    "locations",
    "api-clients",
    "product-configs",
    "product-config-new",
    "contacts",
    "billing",
    "settings",
]


@pytest.mark.parametrize("name", PAGES)
def test_pages_redirect_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("who", ["owner", "admin_user", "viewer"])
def test_every_member_can_read_every_page(request, login, location, name, who):
    response = login(request.getfixturevalue(who)).get(reverse(name))
    assert response.status_code == 200


def test_pages_answer_with_frame_ancestors_none(login, owner):
    response = login(owner).get(reverse("getting-started"))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.fixture
def objects(location, package, member, token):
    """Object URLs of the signed-in workspace, as (name, args) pairs."""
    client = ApiClient.objects.get(location=location)
    lot = member.entitlements.get()
    return {
        "product-config-edit": [package.public_id],
        "product-config-remove": [package.public_id],
        "contact": [member.pk],
        "contact-adjust": [member.pk],
        "lot-pause": [lot.public_id],
        "lot-resume": [lot.public_id],
        "api-client-rotate": [client.client_id],
        "api-client-deactivate": [client.client_id],
        "location-remove": [location.location_id],
    }


WRITES = [
    ("use-api", []),
    ("location-new-api", []),
    ("api-client-new", []),
    ("product-config-new", []),
    ("settings-save", []),
    ("billing-start-trial", []),
    ("member-invite", []),
    *[
        (n, None)
        for n in (
            "product-config-edit",
            "product-config-remove",
            "contact-adjust",
            "lot-pause",
            "lot-resume",
            "api-client-rotate",
            "api-client-deactivate",
            "location-remove",
        )
    ],
]


def _url(objects, name, args):
    return reverse(name, args=objects[name] if args is None else args)


@pytest.mark.parametrize(("name", "args"), WRITES)
def test_viewers_get_403_on_every_write(login, viewer, objects, name, args):
    response = login(viewer).post(_url(objects, name, args), {"note": "x", "action": "grant"})
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "args"), WRITES)
def test_viewer_writes_change_nothing(login, viewer, objects, location, package, name, args):
    login(viewer).post(_url(objects, name, args), {"name": "x"})
    location.refresh_from_db()
    package.refresh_from_db()
    assert (location.status, package.active, location.workspace.locations.count()) == (
        "active",
        True,
        1,
    )


@pytest.mark.parametrize("name", ["billing-start-trial", "member-invite"])
def test_admins_cannot_handle_billing_or_users(login, admin_user, name):
    response = login(admin_user).post(reverse(name), {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["product-config-edit", "contact"])
def test_stranger_gets_404_reading_another_workspaces_objects(login, stranger, objects, name):
    response = login(stranger).get(_url(objects, name, None))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "product-config-edit",
        "product-config-remove",
        "contact-adjust",
        "lot-pause",
        "lot-resume",
        "api-client-rotate",
        "api-client-deactivate",
        "location-remove",
    ],
)
def test_stranger_gets_404_writing_another_workspaces_objects(login, stranger, objects, name):
    response = login(stranger).post(_url(objects, name, None), {"note": "x", "action": "grant"})
    assert response.status_code == 404


def test_stranger_write_leaves_the_other_workspace_unchanged(login, stranger, objects, member):
    login(stranger).post(reverse("lot-pause", args=objects["lot-pause"]))
    login(stranger).post(reverse("location-remove", args=objects["location-remove"]))
    member.location.refresh_from_db()
    assert member.location.status == "active"
    assert member.entitlements.get().status == "active"


def test_stranger_lists_show_none_of_another_workspaces_data(login, stranger, member, package):
    client = login(stranger)
    contacts = client.get(reverse("contacts"), {"q": "member"}).content.decode()
    configs = client.get(reverse("product-configs")).content.decode()
    assert "member-1" not in contacts
    assert package.public_id not in configs


def test_stranger_cannot_remove_another_workspaces_member(login, stranger, admin_user):
    membership = admin_user.memberships.get()
    response = login(stranger).post(reverse("member-remove", args=[membership.pk]))
    assert response.status_code == 404
    assert admin_user.memberships.exists()


def test_stranger_cannot_pick_another_workspaces_location_for_a_client(
    login, stranger, stranger_workspace, location
):
    response = login(stranger).post(
        reverse("api-client-new"),
        {"location": location.location_id, "name": "sneaky", "scopes": ["grant"]},
    )
    assert response.status_code == 400
    assert not ApiClient.objects.filter(name="sneaky").exists()
