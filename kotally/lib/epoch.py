"""One shared *epoch* in Redis that says whether what a web process keeps from the database is
still current (issue 14): the API clients (api/authcache.py) and which locations listen to
domain events (entitlements/events.py).

A reader reads the epoch first (the API does, in the rate limiter's Redis call), then the
database, and keeps the result with that epoch; it uses it later only while Redis holds the
same epoch. A writer of a `watch`ed model (or `changing` / `changed` around a bulk update)
first sets the epoch to "busy" — nothing is kept while a change is in flight, and if Redis
can't be told the change fails before anything is written — and once the change commits, to a
new value, before the changing request answers. "Busy" expires after BUSY_SECONDS, so a
change whose commit hook never ran (a crash) only stops caching for that long.

`current` holds the epoch the API request in hand was authenticated under (None outside one,
or when Redis could not be read): what is kept under it may be used until the request ends.
Without REDIS_URL (the single-process local default) nothing is kept.
"""

import secrets
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import transaction
from django.db.models import signals

KEY = "cache:epoch"
BUSY = "busy"
BUSY_SECONDS = 60

current: ContextVar[str | None] = ContextVar("kotally_epoch", default=None)
_clients: dict[str, object] = {}  # per Redis URL: one connection pool per process


def redis_client():
    """This process's Redis client (REDIS_URL must be set). Short timeouts: a cache outage
    must not slow every API call down."""
    url = settings.REDIS_URL
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _clients[url]


def usable(epoch: str | None) -> bool:
    """Whether what is read under `epoch` may be kept."""
    return bool(epoch) and epoch != BUSY


class Kept:
    """Values read from the database, each with the epoch it was read under: at most
    MAX_ENTRIES, each used for at most MAX_AGE seconds whatever Redis says (the last guard if
    Redis is lost at the moment of a change)."""

    MAX_AGE = 60.0
    MAX_ENTRIES = 10_000

    def __init__(self):
        self._entries: dict = {}
        _kept.append(self)

    def get(self, key):
        """(value, epoch) as kept, or None."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[2] > self.MAX_AGE:
            return None
        return entry[0], entry[1]

    def put(self, key, value, epoch: str | None) -> None:
        if not usable(epoch):
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (value, epoch, time.monotonic())

    def __contains__(self, key) -> bool:
        return key in self._entries

    def clear(self) -> None:
        self._entries.clear()


_kept: list[Kept] = []


def forget() -> None:
    """Tests only: keep nothing, as a new process."""
    for kept in _kept:
        kept.clear()


def changing() -> None:
    """Before a change is written: nothing is kept until `changed` has run. Raises when Redis
    can't be reached, so the change fails instead of leaving stale copies behind."""
    if settings.REDIS_URL:
        redis_client().set(KEY, BUSY, ex=BUSY_SECONDS)


def changed() -> None:
    """After a change is written: a new epoch once it commits (at once outside a transaction)."""
    if settings.REDIS_URL:
        transaction.on_commit(renew, robust=True)


def renew() -> None:
    """A new epoch: nothing kept before is used again."""
    redis_client().set(KEY, secrets.token_hex(8))


# model → the fields whose change moves the epoch (None: any save)
_watched: dict = {}


def watch(model, fields: set[str] | None = None) -> None:
    """Treat a new row of `model`, a save that may change one of its `fields` (any save
    without `fields`), and a delete, as a change. A new row moves the epoch only after its
    commit (nobody kept it before, and what said it was missing is stale only from then on),
    so it never fails on Redis. Watching a model again adds its fields."""
    if model in _watched:
        known = _watched[model]
        _watched[model] = None if known is None or fields is None else known | set(fields)
        return
    _watched[model] = None if fields is None else set(fields)
    uid = f"epoch.{model._meta.label}"
    signals.pre_save.connect(_before_save, sender=model, dispatch_uid=uid)
    signals.post_save.connect(_after_save, sender=model, dispatch_uid=uid)
    signals.pre_delete.connect(_before_delete, sender=model, dispatch_uid=uid)
    signals.post_delete.connect(_after_delete, sender=model, dispatch_uid=uid)


def _before_save(sender, instance, update_fields=None, **kwargs):
    fields = _watched[sender]
    instance._epoch_change = (
        fields is None or update_fields is None or bool(fields & set(update_fields))
    )
    if instance._epoch_change and not instance._state.adding:
        changing()


def _after_save(sender, instance, **kwargs):
    if instance.__dict__.pop("_epoch_change", False):
        changed()


def _before_delete(sender, **kwargs):
    changing()


def _after_delete(sender, **kwargs):
    changed()
