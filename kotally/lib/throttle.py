"""Abuse limits shared by every web process through the cache (Redis in production)."""

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The caller's address. Behind TRUSTED_PROXY_COUNT proxies that each append to
    X-Forwarded-For, the address the outermost one saw (what a client writes into the header
    itself sits further left and is ignored); else REMOTE_ADDR."""
    count = settings.TRUSTED_PROXY_COUNT
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if count and len(hops) >= count:
        return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt under `key`; False once more than `limit` fall in the window (a fixed
    window starting with the first attempt)."""
    key = f"throttle:{key}"
    cache.add(key, 0, window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        count = 1
    return count <= limit
