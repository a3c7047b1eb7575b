"""Per-client token bucket (SPEC §3.10): shared through Redis when REDIS_URL is set, else
kept in this process (the single-process local default).

With Redis, the same call reads the shared cache epoch (kotally/lib/epoch.py), so a request
authenticated from this process's cache makes one Redis round trip and no database one."""

import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from kotally.lib import epoch

# KEYS[1] bucket, KEYS[2] epoch. ARGV: rate/s, burst, now (s), the epoch the caller expects
# ("*": take whatever it is; "": only read it), a new epoch to start when there is none.
# Returns {allowed (-1: not taken, the epoch differs), tokens*1000, wait_ms, epoch}.
_LUA = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[2], epoch)
end
if ARGV[4] ~= '*' and ARGV[4] ~= epoch then
  return {-1, 0, 0, epoch}
end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 't', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, math.floor(tokens * 1000), wait, epoch}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # whole seconds, at least 1 when refused


class _LocalBuckets:
    def __init__(self):
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key, rate, burst, now):
        with self._lock:
            tokens, ts = self._state.get(key, (float(burst), now))
            tokens = min(burst, tokens + max(0.0, now - ts) * rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return True, tokens - 1, 0.0
            self._state[key] = (tokens, now)
            return False, tokens, (1 - tokens) / rate


_local = _LocalBuckets()
_scripts: dict[str, object] = {}  # per Redis URL


def _script():
    if settings.REDIS_URL not in _scripts:
        _scripts[settings.REDIS_URL] = epoch.redis_client().register_script(_LUA)
    return _scripts[settings.REDIS_URL]


def take(client_key: str, *, expect: str = "*") -> tuple[Decision | None, str | None]:
    """Take a token from the client's bucket, and read the cache epoch in the same call.
    With an `expect`ed epoch, the token is taken only if the epoch is still that one (else
    the decision is None); `expect=""` only reads it. The epoch is None without Redis or when
    Redis can't be reached (then the limiter fails open)."""
    rate = settings.API_RATE_LIMIT_PER_SECOND
    burst = settings.API_RATE_LIMIT_BURST
    now = time.time()
    if not settings.REDIS_URL:
        if expect != "*":
            return None, None  # no epoch without Redis: nothing is cached
        allowed, tokens, wait = _local.take(client_key, rate, burst, now)
        current = None
    else:
        import redis

        try:
            allowed, milli, wait_ms, current = _script()(
                keys=[f"ratelimit:{client_key}", epoch.KEY],
                args=[rate, burst, now, expect, secrets.token_hex(8)],
            )
        except redis.RedisError:
            # Fail open: a cache outage must not stop bookings; the database still guards.
            return Decision(True, burst, 0), None
        current = current.decode()
        if allowed == -1:
            return None, current
        tokens, wait = milli / 1000, wait_ms / 1000
    wait_s = max(1, int(-(-wait // 1))) if not allowed else 0
    return Decision(bool(allowed), int(tokens), wait_s), current


def reset_local() -> None:
    """Tests only: forget the in-process buckets."""
    _local._state.clear()
