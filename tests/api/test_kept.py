"""What a web process keeps under the shared epoch (kotally/lib/epoch.py): the API client cache
(api/authcache.py) and the product configs grants name. A cached call reads no database row
for its token, and any change that authentication, the engine's gate or a grant reads ends
what this process kept, through the epoch in Redis, with the change's commit (SPEC §4: a
rotated or deactivated token stops working at once). Changes are made as the product makes
them (services, real commits), and the process's cache is never cleared by hand between the
change and the call: only the epoch can make it reread."""

import threading

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import BillingStatus
from api import authcache
from api.models import ApiClient, Scope
from api.services import api_client_create, api_client_deactivate, api_client_rotate
from billing.services import billing_set_status
from entitlements.product_configs import product_config_remove
from kotally.lib import epoch
from locations.services import location_remove

from .conftest import read_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("epoch_redis")]


@pytest.fixture
def issued(location):
    client, raw = api_client_create(location=location, name="cached", scopes=list(Scope.values))
    return client, raw


def _summary(raw):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api.get(read_url("m1", "/summary"))


def _client_reads(queries) -> int:
    """Reads of the token's client, its location or its workspace."""
    tables = ("api_apiclient", "locations_location", "accounts_workspace")
    return sum(
        q["sql"].startswith("SELECT") and any(t in q["sql"] for t in tables) for q in queries
    )


def _cached(client) -> bool:
    return str(client.client_id) in authcache._kept


def test_a_cached_call_reads_no_client_row(issued):
    client, raw = issued
    assert _summary(raw).status_code == 200  # read from the database, then kept
    with CaptureQueriesContext(connection) as seen:
        for _ in range(3):
            assert _summary(raw).status_code == 200
    assert _client_reads(seen.captured_queries) == 0
    assert _cached(client)


def test_rotation_ends_the_cached_client_at_once(issued):
    client, old = issued
    assert _summary(old).status_code == 200
    new = api_client_rotate(client=ApiClient.objects.get(pk=client.pk))
    assert _cached(client)  # still kept here: only the epoch tells this process
    assert _summary(old).status_code == 401
    assert _summary(new).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        lambda client: api_client_deactivate(client=ApiClient.objects.get(pk=client.pk)),
        lambda client: location_remove(location=client.location),  # bulk deactivation
    ],
    ids=["deactivate", "location removed"],
)
def test_deactivation_ends_the_cached_client_at_once(issued, change):
    client, raw = issued
    assert _summary(raw).status_code == 200
    change(client)
    assert _cached(client)
    response = _summary(raw)
    assert response.status_code == 401
    assert response.json()["reason_code"] == "UNAUTHENTICATED"


def test_a_billing_change_reaches_the_gate_at_once(issued, workspace, package):
    _, raw = issued
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {
        "location_id": "loc_main",
        "external_contact_id": "m1",
        "product_config_id": package.public_id,
    }
    assert (
        api.post("/api/v2/entitlements/check-eligibility", body, format="json").json()[
            "reason_code"
        ]
        != "BILLING_SUSPENDED"
    )
    billing_set_status(workspace=workspace, status=BillingStatus.SUSPENDED)
    answer = api.post("/api/v2/entitlements/check-eligibility", body, format="json").json()
    assert answer["reason_code"] == "BILLING_SUSPENDED"


def test_a_change_committed_during_the_read_is_not_kept_as_current(issued, monkeypatch):
    """The epoch is read before the client row: a rotation that commits after the row was read
    (but before it is kept) leaves the kept client under the old epoch, so it is not used."""
    from api import services

    client, old = issued
    read = services._client
    rotated = {}

    def read_then_rotate(key):
        found = read(key)
        if not rotated:
            # Another web process rotates and commits, on its own connection.
            def rotate():
                rotated["token"] = api_client_rotate(client=ApiClient.objects.get(pk=client.pk))
                connection.close()

            worker = threading.Thread(target=rotate)
            worker.start()
            worker.join()
        return found

    monkeypatch.setattr(services, "_client", read_then_rotate)
    assert _summary(old).status_code == 200  # authenticated on the row read before the rotation
    monkeypatch.setattr(services, "_client", read)
    assert _summary(old).status_code == 401
    assert _summary(rotated["token"]).status_code == 200


def test_nothing_is_kept_while_a_change_is_in_flight(issued):
    client, raw = issued
    epoch.changing()  # a change that has not committed yet
    assert _summary(raw).status_code == 200
    assert not _cached(client)


def test_a_change_fails_whole_when_redis_cannot_be_told(issued, settings):
    client, raw = issued
    assert _summary(raw).status_code == 200
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(redis.RedisError):
        api_client_deactivate(client=ApiClient.objects.get(pk=client.pk))
    assert ApiClient.objects.get(pk=client.pk).active  # nothing was written


def test_without_redis_the_database_decides(issued, settings):
    """Redis unreachable: the cached client is not used (its epoch can't be checked); the
    rate limit fails open as before."""
    client, raw = issued
    assert _summary(raw).status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(active=False)  # a change Redis never heard of
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert _summary(raw).status_code == 401


def test_an_entry_is_not_used_past_its_age(issued, monkeypatch):
    client, raw = issued
    assert _summary(raw).status_code == 200
    monkeypatch.setattr(epoch.Kept, "MAX_AGE", 0.0)
    with CaptureQueriesContext(connection) as seen:
        assert _summary(raw).status_code == 200
    assert _client_reads(seen.captured_queries) == 1


def test_a_new_row_is_written_while_redis_is_down(location, settings):
    """Nobody kept a row that did not exist: creating one moves the epoch after its commit,
    best effort, so a Redis outage does not stop sign-ups, installs or new clients."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    client, raw = api_client_create(location=location, name="new", scopes=list(Scope.values))
    assert ApiClient.objects.filter(pk=client.pk, active=True).exists()
    assert _summary(raw).status_code == 200  # from the database: nothing is kept
    assert not _cached(client)


def test_a_removed_config_reaches_grants_at_once(issued, package):
    """Grants keep the config they named under the epoch too (entitlements.services)."""
    from .conftest import grant_body

    _, raw = issued
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (
        api.post("/api/v2/grants", grant_body(package), format="json").json()["reason_code"]
        == "grant_applied"
    )
    product_config_remove(config=package)
    answer = api.post("/api/v2/grants", grant_body(package), format="json").json()
    assert answer["reason_code"] == "CONFIG_NOT_FOUND"


def _endpoint(location, *, active=True):
    from outbound import services as outbound

    endpoint, _ = outbound.endpoint_create(
        location=location, url="http://127.0.0.1:9/hooks", event_types=["credits.granted"]
    )
    if not active:
        outbound.endpoint_disable(endpoint=endpoint, reason="test")
    return endpoint


def _disable(location, workspace):
    from outbound import services as outbound
    from outbound.models import Endpoint

    endpoint = _endpoint(location)
    return lambda: outbound.endpoint_disable(
        endpoint=endpoint, reason="test"
    ), lambda: Endpoint.objects.get(pk=endpoint.pk).active


def _enable(location, workspace):
    from outbound import services as outbound
    from outbound.models import Endpoint

    endpoint = _endpoint(location, active=False)
    return lambda: outbound.endpoint_enable(
        endpoint=endpoint
    ), lambda: Endpoint.objects.get(pk=endpoint.pk).active


def _opt_out(location, workspace):
    from integrations_ghl.models import Installation
    from integrations_ghl.writeback import writeback_set
    from tests.ghl_oauth.conftest import make_installation

    installation = make_installation(workspace, writeback_enabled=True)
    return lambda: writeback_set(
        installation=installation, enabled=False
    ), lambda: Installation.objects.get(pk=installation.pk).writeback_enabled


def _deactivate_all(location, workspace):
    from api.services import api_clients_deactivate

    return lambda: api_clients_deactivate(location=location), lambda: ApiClient.objects.filter(
        location=location, active=True
    ).count()


@pytest.mark.parametrize(
    "prepare",
    [_disable, _enable, _opt_out, _deactivate_all],
    ids=["endpoint disabled", "endpoint enabled", "write-back opt-out", "clients deactivated"],
)
def test_a_bulk_change_fails_whole_when_redis_cannot_be_told(
    prepare, issued, location, workspace, settings
):
    """The updates that bypass model signals mark the epoch "busy" themselves, first."""
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = True
    change, state = prepare(location, workspace)
    before = state()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(redis.RedisError):
        change()
    assert state() == before
