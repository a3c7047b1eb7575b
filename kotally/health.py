from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Database and broker reachability (SPEC §8); 503 when either is down."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means "down" here
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except redis.RedisError as exc:
            checks["broker"] = f"error: {type(exc).__name__}"
    else:
        checks["broker"] = "eager"
    healthy = all(v in ("ok", "eager") for v in checks.values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)
