"""One error envelope for every transport error under /api/ (SPEC §3.1)."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from kotally.lib.envelope import envelope as error_body

logger = logging.getLogger("kotally.api")


class ApiError(exceptions.APIException):
    """A transport error with an explicit reason code (409, 415, 422, 403 location...)."""

    def __init__(self, status: int, reason_code: str, message: str, **extra):
        super().__init__(message)
        self.status_code = status
        self.reason_code = reason_code
        self.extra = extra


_BY_CLASS = [
    (exceptions.NotAuthenticated, 401, "UNAUTHENTICATED"),
    (exceptions.AuthenticationFailed, 401, "UNAUTHENTICATED"),
    (exceptions.PermissionDenied, 403, "SCOPE_REQUIRED"),
    (exceptions.NotFound, 404, "ROUTE_NOT_FOUND"),
    (Http404, 404, "ROUTE_NOT_FOUND"),
    (exceptions.MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"),
    (exceptions.UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.ParseError, 400, "VALIDATION_ERROR"),
    (exceptions.ValidationError, 400, "VALIDATION_ERROR"),
    # Django's own request guards, e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS query params.
    (SuspiciousOperation, 400, "VALIDATION_ERROR"),
]


def envelope(status: int, reason_code: str, message: str, **extra) -> Response:
    return Response(error_body(reason_code, message, **extra), status=status)


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        return envelope(exc.status_code, exc.reason_code, str(exc.detail), **exc.extra)
    for cls, status, code in _BY_CLASS:
        if isinstance(exc, cls):
            extra = {}
            message = exc.detail if isinstance(getattr(exc, "detail", None), str) else str(exc)
            if isinstance(exc, exceptions.ValidationError):
                extra["errors"] = _field_errors(exc.detail)
                message = "The request is invalid; see errors."
            elif isinstance(exc, exceptions.ParseError):
                extra["errors"] = {"body": [str(exc.detail)]}
            response = envelope(status, code, str(message), **extra)
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                response["WWW-Authenticate"] = 'Bearer realm="kotally"'
            return response
    logger.exception("unhandled API error", exc_info=exc)
    return envelope(500, "INTERNAL_ERROR", "Unexpected error; nothing was applied.")


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
        }
    messages = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(m) for m in messages]}
