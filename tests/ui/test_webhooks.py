"""Webhooks pages: owners and admins add endpoints (secret shown once), read the delivery log,
resend, disable and enable; viewers and other workspaces cannot."""

import pytest
from django.urls import reverse

from kotally.lib.crypto import decrypt
from outbound import services
from outbound.models import Delivery, DeliveryStatus, Endpoint
from tests.outbound.conftest import announce

pytestmark = pytest.mark.django_db
LIST = reverse("webhook-endpoints", kwargs={"location_id": "loc_main"})
NEW = {"url": "https://hooks.example.com/kotally", "event_types": ["credits.low"]}


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    """The page's URL check without the network: hooks.example.com is a public address."""
    monkeypatch.setattr(
        "socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.216.34", 443))]
    )


def _secret_on(page) -> str:
    html = page.content.decode()
    start = html.index('id="one-time-secret">') + len('id="one-time-secret">')
    return html[start : html.index("</code>", start)]


def _detail(endpoint) -> str:
    return reverse(
        "webhook-endpoint", kwargs={"location_id": "loc_main", "endpoint_id": endpoint.public_id}
    )


def test_new_endpoint_shows_its_signing_secret_once(login, admin_user, location):
    client = login(admin_user)
    first = client.post(LIST, NEW, follow=True)
    secret = _secret_on(first)
    endpoint = Endpoint.objects.get()
    assert decrypt(endpoint.secret_enc) == secret and endpoint.event_types == ["credits.low"]
    assert secret not in client.get(_detail(endpoint)).content.decode()


def test_a_private_address_is_refused_with_a_reason(login, admin_user, location, monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.7", 443))])
    page = login(admin_user).post(LIST, NEW)
    assert page.status_code == 400 and "private or reserved address" in page.content.decode()
    assert not Endpoint.objects.exists()


def test_plain_http_is_refused(login, admin_user, location):
    page = login(admin_user).post(LIST, {**NEW, "url": "http://hooks.example.com/kotally"})
    assert page.status_code == 400 and not Endpoint.objects.exists()


def test_viewers_cannot_see_or_add_endpoints(login, viewer, location):
    client = login(viewer)
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, NEW).status_code == 403


def test_another_workspaces_endpoint_is_not_found(login, stranger, location):
    endpoint, _ = services.endpoint_create(
        location=location, url=NEW["url"], event_types=["credits.low"]
    )
    assert login(stranger).get(_detail(endpoint)).status_code == 404


def test_the_delivery_log_shows_status_attempts_and_resend(login, admin_user, location):
    endpoint, _ = services.endpoint_create(
        location=location, url=NEW["url"], event_types=["credits.low"]
    )
    announce(location, type="credits.low")
    Delivery.objects.update(
        status=DeliveryStatus.FAILED, attempts=20, response_status=502, latency_ms=31
    )
    client = login(admin_user)
    html = client.get(_detail(endpoint)).content.decode()
    assert "credits.low" in html and "502" in html and "31 ms" in html
    delivery = Delivery.objects.get()
    resend = reverse(
        "webhook-delivery-resend",
        kwargs={
            "location_id": "loc_main",
            "endpoint_id": endpoint.public_id,
            "delivery_pk": delivery.pk,
        },
    )
    client.post(resend)
    assert Delivery.objects.get().status == DeliveryStatus.PENDING


def test_disable_and_enable(login, admin_user, location):
    endpoint, _ = services.endpoint_create(
        location=location, url=NEW["url"], event_types=["credits.low"]
    )
    client = login(admin_user)
    action = "webhook-endpoint-action"
    kwargs = {"location_id": "loc_main", "endpoint_id": endpoint.public_id}
    client.post(reverse(action, kwargs={**kwargs, "action": "disable"}))
    assert not Endpoint.objects.get().active
    client.post(reverse(action, kwargs={**kwargs, "action": "enable"}))
    assert Endpoint.objects.get().active


def test_locations_page_links_to_webhooks(login, owner, location):
    page = login(owner).get(reverse("locations")).content.decode()
    assert LIST in page
