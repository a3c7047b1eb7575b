"""Every form is CSRF-protected: a POST without the token is refused with 403."""

import pytest
from django.test import Client
from django.urls import reverse

from api.models import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def forms(location, package, member, token, viewer):
    lot = member.entitlements.get()
    api_client = ApiClient.objects.get()
    return [
        ("switch-workspace", []),
        ("use-api", []),
        ("location-new-api", []),
        ("location-remove", [location.location_id]),
        ("location-stripe", [location.location_id]),
        ("api-client-new", []),
        ("api-client-rotate", [api_client.client_id]),
        ("api-client-deactivate", [api_client.client_id]),
        ("product-config-new", []),
        ("product-config-edit", [package.public_id]),
        ("product-config-remove", [package.public_id]),
        ("contact-adjust", [member.pk]),
        ("lot-pause", [lot.public_id]),
        ("lot-resume", [lot.public_id]),
        ("billing-start-trial", []),
        ("settings-save", []),
        ("member-invite", []),
        ("member-role", [viewer.memberships.get().pk]),
        ("member-remove", [viewer.memberships.get().pk]),
        ("logout", []),
    ]


def test_every_form_post_without_a_csrf_token_is_403(login, owner, forms):
    client = login(owner, enforce_csrf_checks=True)
    statuses = {
        name: client.post(reverse(name, args=args), {"name": "x"}).status_code
        for name, args in forms
    }
    assert statuses == {name: 403 for name, _ in forms}


@pytest.mark.parametrize("name", ["signup", "login", "password_reset"])
def test_public_forms_without_a_csrf_token_are_403(name):
    response = Client(enforce_csrf_checks=True).post(reverse(name), {"email": "a@b.co"})
    assert response.status_code == 403


def test_a_post_with_the_token_passes_the_check(login, owner, location):
    client = login(owner, enforce_csrf_checks=True)
    client.get(reverse("settings"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("settings-save"), {"cancellation_window_hours": "12", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_csrf_refusal_page_explains_what_happened(login, owner):
    client = login(owner, enforce_csrf_checks=True)
    response = client.post(reverse("use-api"))
    assert "CSRF check failed" in response.content.decode()
