"""Correlation ids on every request and JSON errors for anything under /api/."""

import contextvars
import logging
import re
import uuid

from django.http import JsonResponse

correlation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
logger = logging.getLogger("kotally.api")


def current_correlation_id() -> str:
    return correlation_id_var.get()


class CorrelationIdLogFilter(logging.Filter):
    def filter(self, record):
        record.correlation_id = correlation_id_var.get()
        return True


class CorrelationIdMiddleware:
    """Takes a caller's X-Correlation-Id when it is a safe token, else makes one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Correlation-Id", "")
        cid = incoming if _SAFE_ID.match(incoming) else str(uuid.uuid4())
        request.correlation_id = cid
        token = correlation_id_var.set(cid)
        try:
            response = self.get_response(request)
        finally:
            correlation_id_var.reset(token)
        response.setdefault("X-Correlation-Id", cid)
        return response


def api_error(status: int, reason_code: str, message: str, correlation_id: str, **extra):
    body = {"ok": False, "reason_code": reason_code, "message": message,
            "correlation_id": correlation_id, **extra}
    response = JsonResponse(body, status=status)
    response["X-Correlation-Id"] = correlation_id
    return response


class ApiErrorMiddleware:
    """Backstop: an exception escaping a view under /api/ becomes the JSON 500 envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("unhandled error on %s", request.path)
        return api_error(500, "INTERNAL_ERROR", "Unexpected error; nothing was applied.",
                         getattr(request, "correlation_id", current_correlation_id()))


class FrameAncestorsMiddleware:
    """Admin pages must never be framed: `Content-Security-Policy: frame-ancestors 'none'`
    (SPEC §5.4). A response that already sets its own CSP (the embed) or that opted out of
    X-Frame-Options with @xframe_options_exempt is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(response, "xframe_options_exempt", False):
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response
