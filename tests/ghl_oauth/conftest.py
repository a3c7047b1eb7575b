"""GHL install tests: GHL's HTTP side is mocked with `responses`; everything else is real."""

from datetime import timedelta

import pytest
import responses
from django.core.cache import cache
from django.utils import timezone

from integrations_ghl.installations import STATE_SESSION_KEY
from integrations_ghl.models import Installation, UserType
from kotally.lib.crypto import encrypt
from locations.models import LocationKind
from tests.factories import LocationFactory
from tests.ghl.signing import celery_eager, ghl_signer, post_ghl  # noqa: F401 (fixtures)

API = "https://services.leadconnectorhq.com"
TOKEN_URL = f"{API}/oauth/token"
LOCATION_TOKEN_URL = f"{API}/oauth/locationToken"
INSTALLED_URL = f"{API}/oauth/installedLocations"


def token_answer(**overrides) -> dict:
    """A GHL token endpoint answer for a Location token: the fields of
    GetAccessCodeSuccessfulResponseDto in GHL's apps/installations.json."""
    body = {
        "access_token": "acc-1",
        "token_type": "Bearer",
        "expires_in": 86399,
        "refresh_token": "ref-1",
        "scope": "contacts.readonly calendars.readonly",
        "userType": "Location",
        "locationId": "ghl_loc_1",
        "companyId": "comp_1",
        "userId": "user_1",
        "planId": "plan_1",
        "isBulkInstallation": False,
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def _ghl_app(settings):
    settings.GHL_CLIENT_ID = "0123456789abcdef01234567-kotally"
    settings.GHL_CLIENT_SECRET = "test-client-secret"
    settings.GHL_API_BASE = API
    settings.KOTALLY_BASE_URL = "https://kotally.test"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ghl():
    """Activated `responses` mock: any GHL call a test did not register fails loudly."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# The callback of an install this browser started with Connect GoHighLevel (see `signed_in`).
CALLBACK = "/oauth/ghl/callback?code=c&state=started-here"


@pytest.fixture
def signed_in(client, owner):
    """The owner's browser, holding the state nonce of a Connect GoHighLevel it started."""
    client.force_login(owner)
    session = client.session
    session[STATE_SESSION_KEY] = "started-here"
    session.save()
    return client


def make_installation(
    workspace,
    *,
    location_id="ghl_loc_1",
    access="acc-old",
    refresh="ref-old",
    expires_in=timedelta(hours=20),
    **fields,
):
    location = LocationFactory(workspace=workspace, location_id=location_id, kind=LocationKind.GHL)
    return Installation.objects.create(
        workspace=workspace,
        user_type=UserType.LOCATION,
        location=location,
        company_id="comp_1",
        access_token_enc=encrypt(access),
        refresh_token_enc=encrypt(refresh),
        expires_at=timezone.now() + expires_in,
        **fields,
    )
