"""Authenticated API clients kept in this process, so that a call is authenticated without a
database round trip (issue 14), yet a rotated or deactivated token stops working at once
(SPEC §4) in every process.

A client read from the database is kept with the *epoch* that Redis held before the read. A
cached client is used only while Redis still holds that epoch, and the epoch is read in the
same Redis call as the rate limit (`ratelimit.take`), so a cached call costs no extra round
trip. Every change that can alter what authentication or the engine's gate reads — a client,
its location, its workspace (the receivers below; `changing`/`changed` around a bulk update) —
first sets the epoch to "busy" (a process caches nothing while a change is in flight; if Redis
can't be told, the change fails before anything is written), then, once committed, to a new
value: from then on no process uses what it cached before, and that happens before the
changing request answers. "Busy" expires after BUSY_SECONDS, so a change whose commit hook
never ran (a crash) only stops caching for that long. An entry is also dropped after MAX_AGE
whatever Redis says, the last guard if Redis is lost at the moment of a change.

Without REDIS_URL (the single-process local default) nothing is cached.
"""

import secrets
import time

from django.conf import settings
from django.db import transaction
from django.db.models import signals
from django.db.models.base import ModelState

from . import ratelimit

BUSY = "busy"
BUSY_SECONDS = 60
MAX_AGE = 60.0  # seconds
MAX_ENTRIES = 10_000

# client uuid → (client, location, workspace, epoch, loaded at); never handed out as they are
_entries: dict[str, tuple] = {}


def cached(key: str):
    """(client with its location and workspace, epoch) as kept for this client uuid, or None."""
    entry = _entries.get(key)
    if entry is None or time.monotonic() - entry[4] > MAX_AGE:
        return None
    client, location, workspace, epoch, _ = entry
    return _copy(client, location=_copy(location, workspace=_copy(workspace))), epoch


def keep(key: str, client, epoch: str | None) -> None:
    """Keep what was read from the database under `epoch` (read from Redis before it)."""
    if not epoch or epoch == BUSY:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    location = client.location
    workspace = location.workspace
    _entries[key] = (_copy(client), _copy(location), _copy(workspace), epoch, time.monotonic())


def touched(key: str, last_used_at) -> None:
    """The client's last use as just written, so this process doesn't write it again."""
    if (entry := _entries.get(key)) is not None:
        entry[0].last_used_at = last_used_at


def forget() -> None:
    """Tests only: start with nothing cached, as a new process does."""
    _entries.clear()


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


def changing() -> None:
    """Before a change is written: no process caches until `changed` has run. Raises when
    Redis can't be reached, so the change fails instead of leaving stale clients behind."""
    if settings.REDIS_URL:
        ratelimit.redis_client()[0].set(ratelimit.EPOCH_KEY, BUSY, ex=BUSY_SECONDS)


def changed() -> None:
    """After a change is written: a new epoch once it commits (at once outside a transaction)."""
    if settings.REDIS_URL:
        transaction.on_commit(_new_epoch, robust=True)


def _new_epoch() -> None:
    ratelimit.redis_client()[0].set(ratelimit.EPOCH_KEY, secrets.token_hex(8))


def watch(model, fields: set[str]) -> None:
    """Treat a save that may change one of `fields` of `model`, and any delete, as a change
    (connected in ApiConfig.ready). A new row changes nothing cached."""

    def relevant(instance, update_fields):
        return not instance._state.adding and (update_fields is None or fields & set(update_fields))

    def before_save(sender, instance, update_fields=None, **kwargs):
        instance._authcache_change = relevant(instance, update_fields)
        if instance._authcache_change:
            changing()

    def after_save(sender, instance, **kwargs):
        if instance.__dict__.pop("_authcache_change", False):
            changed()

    uid = f"api.authcache.{model._meta.label}"
    signals.pre_save.connect(before_save, sender=model, weak=False, dispatch_uid=uid)
    signals.post_save.connect(after_save, sender=model, weak=False, dispatch_uid=uid)
    signals.pre_delete.connect(lambda **kw: changing(), sender=model, weak=False, dispatch_uid=uid)
    signals.post_delete.connect(lambda **kw: changed(), sender=model, weak=False, dispatch_uid=uid)
