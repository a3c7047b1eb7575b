"""Authenticated API clients kept in this process, so that a call is authenticated without a
database round trip (issue 14), yet a rotated or deactivated token stops working at once
(SPEC §4) in every process.

A client read from the database is kept with the shared epoch (kotally/lib/epoch.py) that
Redis held before the read, and used only while Redis still holds it; the epoch is read in the
same Redis call as the rate limit (`ratelimit.take`), so a cached call costs no extra round
trip. A change to a client, its location or its workspace (`AUTH_FIELDS` in services, watched
from ApiConfig.ready) moves the epoch with its commit, before the changing request answers.
"""

from django.db.models.base import ModelState

from kotally.lib import epoch as shared

# client uuid → (client, location, workspace); never handed out as they are
_kept = shared.Kept()


def cached(key: str):
    """(client with its location and workspace, epoch) as kept for this client uuid, or None."""
    if (found := _kept.get(key)) is None:
        return None
    (client, location, workspace), epoch = found
    return _copy(client, location=_copy(location, workspace=_copy(workspace))), epoch


def keep(key: str, client, epoch: str | None) -> None:
    """Keep what was read from the database under `epoch` (read from Redis before it)."""
    location = client.location
    _kept.put(key, (_copy(client), _copy(location), _copy(location.workspace)), epoch)


def touched(key: str, last_used_at) -> None:
    """The client's last use as just written, so this process doesn't write it again."""
    if (found := _kept.get(key)) is not None:
        found[0][0].last_used_at = last_used_at


def _copy(instance, **related):
    """A new instance with the same field values, holding `related` as its loaded relations
    (the same objects the foreign keys name)."""
    new = instance.__class__.__new__(instance.__class__)
    new.__dict__ = instance.__dict__.copy()
    new._state = ModelState()
    new._state.db = instance._state.db
    new._state.adding = False
    new._state.fields_cache = related
    return new
