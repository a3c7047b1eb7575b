"""API client credentials: `ktly_<client uuid>_<secret uuid>`, stored only as a SHA-256 hash."""

import hashlib
import hmac
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Workspace
from kotally.lib import epoch
from kotally.lib.rows import Insert, Shape, db, hot_cursor
from locations.models import Location

from . import authcache, ratelimit
from .models import ApiClient, ApiRequest

_TOKEN = re.compile(
    r"^ktly_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
# last_used_at is written at most this often, so a busy client does not add a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# Only the columns authentication, scopes, the rate limit and the engine's gate read (anything
# else loads on first use), in one hand-written query: compiling the equivalent queryset cost
# more than the query (issue 14).
_CLIENT = Shape(
    ApiClient,
    "client_id",
    "location_id",
    "scopes",
    "secret_hash",
    "previous_secret_hash",
    "previous_secret_expires_at",
    "last_used_at",
)
_LOCATION = Shape(
    Location, "location_id", "workspace_id", "status", "kind", "cancellation_window_hours"
)
_WORKSPACE = Shape(Workspace, "billing_status", "cancellation_window_hours")
_CLIENT_ID = ApiClient._meta.get_field("client_id")
# What a change must touch to end every process's cached clients (api/authcache.py): the
# columns read above, and whether the client is active. Not last_used_at: only a record.
AUTH_FIELDS = {
    shape.model: {f.name for f in shape.fields} | {f.attname for f in shape.fields}
    for shape in (_CLIENT, _LOCATION, _WORKSPACE)
}
AUTH_FIELDS[ApiClient] = AUTH_FIELDS[ApiClient] - {"last_used_at"} | {"active"}
_LOG = Insert(ApiRequest)
# Unique client id: no ORDER BY.
_AUTH_SQL = (
    f"SELECT {_CLIENT.columns('c')}, {_LOCATION.columns('l')}, {_WORKSPACE.columns('w')} "
    f"FROM {_CLIENT.table} c JOIN {_LOCATION.table} l ON l.id = c.location_id "
    f"JOIN {_WORKSPACE.table} w ON w.id = l.workspace_id "
    "WHERE c.client_id = %s AND c.active LIMIT 1"
)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(client: ApiClient) -> str:
    secret = str(uuid.uuid4())
    client.secret_hash = _hash(secret)
    return f"ktly_{client.client_id}_{secret}"


def api_clients_allowed(*, workspace: Workspace) -> bool:
    """API clients need billing (SPEC §4): new ones are minted only while billing allows
    service (trialing, active, past due)."""
    return workspace.service_allowed


def api_client_create(
    *, location: Location, name: str, scopes: list[str], created_by=None
) -> tuple[ApiClient, str]:
    """Create a client; returns it with its raw token, which is never stored or shown again."""
    client = ApiClient(
        location=location, name=name, scopes=sorted(set(scopes)), created_by=created_by
    )
    token = _new_secret(client)
    client.save()
    return client, token


def api_client_rotate(*, client: ApiClient, grace: timedelta = timedelta(0)) -> str:
    """Replace the secret. The old token stops working with this commit, or — with a `grace`
    period — keeps working until then beside the new one (Stripe's "Roll key"), so the
    client's app can be redeployed first. A second rotation ends the first one's grace."""
    with transaction.atomic():
        now = timezone.now()
        client.previous_secret_hash = client.secret_hash if grace else ""
        client.previous_secret_expires_at = now + grace if grace else None
        token = _new_secret(client)
        client.rotated_at = now
        client.save(
            update_fields=[
                "secret_hash",
                "previous_secret_hash",
                "previous_secret_expires_at",
                "rotated_at",
            ]
        )
    return token


def api_client_deactivate(*, client: ApiClient) -> None:
    client.active = False
    client.save(update_fields=["active"])


def api_clients_deactivate(*, location: Location) -> int:
    """Deactivate every API client of the location, so their tokens stop working with this
    commit. Returns how many were active."""
    epoch.changing()
    count = ApiClient.objects.filter(location=location, active=True).update(active=False)
    epoch.changed()
    return count


def on_location_removed(sender, *, location: Location, **kwargs) -> None:
    """Receiver of locations.signals.location_removed (connected in ApiConfig.ready): runs
    inside the removal's transaction."""
    api_clients_deactivate(location=location)


def authenticate_token(raw: str) -> ApiClient | None:
    """The active client the token belongs to, or None. Secrets compare in constant time.

    A client cached in this process (api/authcache.py) is used while the cache epoch is
    unchanged, checked in the rate limiter's Redis call, whose decision then rides on the
    client (`rate_limit`, with the `epoch` it was read under); otherwise the client is read
    from the database."""
    match = _TOKEN.match(raw.lower()) if len(raw) < 120 else None
    if not match:
        return None
    key, given, now = match.group(1), _hash(match.group(2)), timezone.now()
    rate, current = None, ""
    if found := authcache.cached(key):
        client, kept = found
        if _accepts(client, given, now):
            rate, current = ratelimit.take(key, expect=kept)
            if rate is not None and current == kept:
                client.rate_limit, client.epoch = rate, current
                return _used(client, now)
    if settings.REDIS_URL and current == "":
        # Read before the database, so that a change committed in between shows as a new
        # epoch. None: Redis can't be reached, so nothing is cached (and `rate` fails open).
        rate, current = ratelimit.take(key, expect="")
    client = _client(key)
    if client is None:
        return None
    authcache.keep(key, client, current)
    client.rate_limit, client.epoch = rate, current
    return _used(client, now) if _accepts(client, given, now) else None


def _client(key: str) -> ApiClient | None:
    with hot_cursor() as cursor:
        cursor.execute(_AUTH_SQL, [_CLIENT_ID.get_db_prep_value(uuid.UUID(key), db())])
        row = cursor.fetchone()
    if row is None:
        return None
    client = _CLIENT.build(row)
    location = _LOCATION.build(row, len(_CLIENT))
    location.workspace = _WORKSPACE.build(row, len(_CLIENT) + len(_LOCATION))
    client.location = location
    return client


def _accepts(client: ApiClient, given: str, now) -> bool:
    current = hmac.compare_digest(client.secret_hash, given)
    previous = (
        client.previous_secret_expires_at is not None
        and now < client.previous_secret_expires_at
        and hmac.compare_digest(client.previous_secret_hash, given)
    )
    return current or previous


def _used(client: ApiClient, now) -> ApiClient:
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
        authcache.touched(str(client.client_id), now)
    return client


def record_rate_limited(client: ApiClient) -> None:
    ApiClient.objects.filter(pk=client.pk).update(
        rate_limited_count=F("rate_limited_count") + 1, last_rate_limited_at=timezone.now()
    )


def api_request_row(
    *,
    client: ApiClient,
    method: str,
    path: str,
    status: int,
    ok: bool,
    reason_code: str,
    request_id: str,
    contact_key: str,
    latency_ms: int,
) -> ApiRequest:
    """One answered request for the client's request log (not saved)."""
    return ApiRequest(
        client=client,
        location_id=client.location_id,
        method=method[:8],
        path=path[:255],
        status=status,
        ok=ok,
        reason_code=reason_code[:64],
        request_id=request_id[:255],
        contact_key=contact_key[:255],
        latency_ms=latency_ms,
    )


def api_request_record(**fields) -> ApiRequest:
    """Keep one answered request for the client's request log (`api_request_row`'s fields)."""
    row = api_request_row(**fields)
    with hot_cursor() as cursor:
        _LOG.run(row, cursor)
    return row


def api_request_statement(**fields) -> tuple[str, list]:
    """The request log row's insert as (sql, params), to run with another statement."""
    return _LOG.statement(api_request_row(**fields))
