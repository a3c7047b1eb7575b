"""The named cast every test can use.

- `workspace`: "Owner Studio", trialing, with `owner`, `admin_user` and `viewer` members.
- `location`: its active API location `loc_main`; `package` (10 credits, calendar `cal_pack`)
  and `membership` (4 monthly credits, calendar `cal_member`, 31-day expiry) configs.
- `token` / `api`: an API client of `location` with every scope, and a DRF test client
  sending it. `api.post_json(path, body)` posts JSON.
- `stranger_workspace`, `stranger_location`, `stranger_token`: another tenant, for isolation.
- `postgres`: skip (with the reason printed) unless the database is PostgreSQL.
"""

import os

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from api import ratelimit
from api.models import Scope
from api.services import api_client_create
from kotally.lib import epoch
from tests.factories import (
    LocationFactory,
    MembershipConfigFactory,
    MembershipFactory,
    ProductConfigFactory,
    UserFactory,
    WorkspaceFactory,
)

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test starts as a new web process would: empty rate buckets, nothing kept."""
    ratelimit.reset_local()
    epoch.forget()
    if settings.REDIS_URL:
        # A change an earlier test made in its never-committed transaction left it "busy".
        epoch.renew()


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        if os.environ.get("KOTALLY_REQUIRE_SERVICES"):
            pytest.fail("KOTALLY_REQUIRE_SERVICES is set but the database is not PostgreSQL")
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (make test does in CI)")


@pytest.fixture
def epoch_redis():
    """What a web process keeps between requests needs the shared epoch in Redis."""
    if not settings.REDIS_URL:
        if os.environ.get("KOTALLY_REQUIRE_SERVICES"):
            pytest.fail("KOTALLY_REQUIRE_SERVICES is set but REDIS_URL is not")
        pytest.skip("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/<db> (the cache epoch)")


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Owner Studio")


@pytest.fixture
def owner(workspace):
    return MembershipFactory(
        workspace=workspace, role=Role.OWNER, user=UserFactory(email="owner@example.com")
    ).user


@pytest.fixture
def admin_user(workspace):
    return MembershipFactory(
        workspace=workspace, role=Role.ADMIN, user=UserFactory(email="admin@example.com")
    ).user


@pytest.fixture
def viewer(workspace):
    return MembershipFactory(
        workspace=workspace, role=Role.VIEWER, user=UserFactory(email="viewer@example.com")
    ).user


@pytest.fixture
def location(workspace):
    return LocationFactory(workspace=workspace, location_id="loc_main", name="Main Studio")


@pytest.fixture
def package(location):
    return ProductConfigFactory(location=location, name="10-Class Pack")


@pytest.fixture
def membership(location):
    return MembershipConfigFactory(location=location, name="Monthly Membership")


@pytest.fixture
def token(location):
    _, raw = api_client_create(location=location, name="tests", scopes=list(Scope.values))
    return raw


class JsonClient(APIClient):
    def post_json(self, path, body, **extra):
        return self.post(path, body, format="json", **extra)


@pytest.fixture
def api(token):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def stranger_workspace(db):
    return WorkspaceFactory(name="Stranger Gym")


@pytest.fixture
def stranger(stranger_workspace):
    return MembershipFactory(
        workspace=stranger_workspace,
        role=Role.OWNER,
        user=UserFactory(email="stranger@example.com"),
    ).user


@pytest.fixture
def stranger_location(stranger_workspace):
    return LocationFactory(workspace=stranger_workspace, location_id="loc_stranger")


@pytest.fixture
def stranger_token(stranger_location):
    _, raw = api_client_create(
        location=stranger_location, name="stranger", scopes=list(Scope.values)
    )
    return raw
