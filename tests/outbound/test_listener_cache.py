"""Which locations listen to domain events, as kept in a web process under the request's
epoch (entitlements/events.py, kotally/lib/epoch.py): an API call at a location nobody listens
to asks once, and an endpoint created, disabled or enabled afterwards is seen by the next call,
without clearing anything by hand (the epoch moves with the change's commit)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.models import Scope
from api.services import api_client_create
from outbound import services
from outbound.models import OutboundEvent
from tests.api.conftest import grant_body

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("epoch_redis")]


@pytest.fixture
def api(location):
    _, raw = api_client_create(location=location, name="listener", scopes=list(Scope.values))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _grant(api, package):
    response = api.post("/api/v2/grants", grant_body(package), format="json")
    assert response.json()["reason_code"] == "grant_applied", response.content
    return response


def _listener_queries(queries) -> int:
    return sum("outbound_endpoint" in q["sql"] for q in queries)


def test_a_location_nobody_listens_to_is_asked_once(api, package):
    _grant(api, package)
    with CaptureQueriesContext(connection) as seen:
        _grant(api, package)
        _grant(api, package)
    assert _listener_queries(seen.captured_queries) == 0


def test_an_endpoint_created_later_gets_the_next_calls_events(api, location, package, receiver):
    _grant(api, package)  # nobody listens: kept
    services.endpoint_create(location=location, url=receiver.url, event_types=["credits.granted"])
    _grant(api, package)
    assert OutboundEvent.objects.filter(type="credits.granted").count() == 1


def test_a_disabled_endpoint_stops_getting_events_at_once(api, location, package, receiver):
    endpoint, _ = services.endpoint_create(
        location=location, url=receiver.url, event_types=["credits.granted"]
    )
    _grant(api, package)
    services.endpoint_disable(endpoint=endpoint, reason="test")
    _grant(api, package)
    services.endpoint_enable(endpoint=endpoint)
    _grant(api, package)
    assert OutboundEvent.objects.filter(type="credits.granted").count() == 2


def test_nothing_is_kept_without_redis(api, location, package, receiver, settings):
    """Redis unreachable: every event asks the database (the limiter fails open)."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    _grant(api, package)
    with CaptureQueriesContext(connection) as seen:
        _grant(api, package)
    assert _listener_queries(seen.captured_queries) == 1
