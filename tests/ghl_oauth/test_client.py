import pytest
import responses

from integrations_ghl import client, installations
from integrations_ghl.client import GhlRateLimited

from .conftest import API, make_installation

pytestmark = pytest.mark.django_db
CALENDARS_URL = f"{API}/calendars/"


@pytest.fixture
def waits(monkeypatch):
    recorded = []
    monkeypatch.setattr(client, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def source(workspace):
    return installations.token_source(make_installation(workspace).location)


def test_429_waits_the_interval_ghl_announces_then_succeeds(source, ghl, waits):
    ghl.add(
        responses.GET,
        CALENDARS_URL,
        status=429,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "3000"},
    )
    ghl.add(responses.GET, CALENDARS_URL, json={"calendars": [{"id": "cal_1"}]})
    assert client.list_calendars(source) == [{"id": "cal_1"}]
    assert waits == [3.0]


def test_429_retries_are_bounded(source, ghl, waits, settings):
    settings.GHL_MAX_429_RETRIES = 2
    ghl.add(responses.GET, CALENDARS_URL, status=429, headers={"Retry-After": "1"})
    with pytest.raises(GhlRateLimited):
        client.list_calendars(source)
    assert len(ghl.calls) == 3 and waits == [1.0, 1.0]


def test_429_with_daily_budget_spent_is_not_retried(source, ghl, waits):
    ghl.add(responses.GET, CALENDARS_URL, status=429, headers={"X-RateLimit-Daily-Remaining": "0"})
    with pytest.raises(GhlRateLimited):
        client.list_calendars(source)
    assert len(ghl.calls) == 1 and waits == []


def test_calendars_use_version_2021_04_15_and_others_2021_07_28(source, ghl):
    ghl.add(responses.GET, CALENDARS_URL, json={"calendars": []})
    ghl.add(responses.GET, f"{API}/products/", json={"products": []})
    client.list_calendars(source)
    client.list_products(source)
    assert [c.request.headers["Version"] for c in ghl.calls] == ["2021-04-15", "2021-07-28"]


def test_local_limiter_stops_calls_beyond_the_location_budget(source, ghl, settings):
    settings.GHL_RATE_LIMIT_REQUESTS = 2
    ghl.add(responses.GET, CALENDARS_URL, json={"calendars": []})
    client.list_calendars(source)
    client.list_calendars(source)
    with pytest.raises(GhlRateLimited):
        client.list_calendars(source)
    assert len(ghl.calls) == 2
