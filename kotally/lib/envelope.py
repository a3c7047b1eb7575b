"""The one error envelope (SPEC §3.1): `{"ok", "reason_code", "message", "correlation_id", ...}`.

The API, Django's last-resort error views and the webhook endpoints all answer with it; the
correlation id is the current request's (set by kotally.middleware.CorrelationIdMiddleware).
"""

import contextvars

from django.http import JsonResponse

correlation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)


def current_correlation_id() -> str:
    return correlation_id_var.get()


def envelope(reason_code: str, message: str = "", *, ok: bool = False, **extra) -> dict:
    body = {"ok": ok, "reason_code": reason_code}
    if message:
        body["message"] = message
    body["correlation_id"] = current_correlation_id()
    body.update(extra)
    return body


def json_envelope(status: int, reason_code: str, message: str = "", **extra) -> JsonResponse:
    """The envelope as a plain Django response (outside DRF: middleware, webhooks, 400/500)."""
    response = JsonResponse(
        envelope(reason_code, message, ok=status == 200, **extra), status=status
    )
    response["X-Correlation-Id"] = current_correlation_id()
    return response
