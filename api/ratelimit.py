"""Per-client token bucket (SPEC §3.10): shared through Redis when REDIS_URL is set, else
kept in this process (the single-process local default)."""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

# KEYS[1] bucket key; ARGV: rate/s, burst, now (s). Returns {allowed, tokens*1000, wait_ms}.
_LUA = """
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
return {allowed, math.floor(tokens * 1000), wait}
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
_scripts: dict[str, object] = {}  # per Redis URL: one connection pool per process


def _redis_script(url: str):
    if url not in _scripts:
        import redis

        # Short timeouts: the limiter fails open rather than slowing every API call down.
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        _scripts[url] = client.register_script(_LUA)
    return _scripts[url]


def take(client_key: str) -> Decision:
    rate = settings.API_RATE_LIMIT_PER_SECOND
    burst = settings.API_RATE_LIMIT_BURST
    now = time.time()
    if settings.REDIS_URL:
        import redis

        try:
            allowed, milli, wait_ms = _redis_script(settings.REDIS_URL)(
                keys=[f"ratelimit:{client_key}"], args=[rate, burst, now]
            )
        except redis.RedisError:
            # Fail open: a cache outage must not stop bookings; the database still guards.
            return Decision(True, burst, 0)
        tokens, wait = milli / 1000, wait_ms / 1000
    else:
        allowed, tokens, wait = _local.take(client_key, rate, burst, now)
    return Decision(bool(allowed), int(tokens), max(1, int(-(-wait // 1))) if not allowed else 0)


def reset_local() -> None:
    """Tests only: forget the in-process buckets."""
    _local._state.clear()
