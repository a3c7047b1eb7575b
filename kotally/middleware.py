"""Correlation ids on every request and JSON errors for anything under /api/."""

import logging
import re
import uuid

from kotally.lib.envelope import correlation_id_var, json_envelope

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
logger = logging.getLogger("kotally.api")


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
        return json_envelope(500, "INTERNAL_ERROR", "Unexpected error; nothing was applied.")
