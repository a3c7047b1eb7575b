"""Django's last-resort error views: JSON envelopes under /api/ and /webhooks/ (SPEC §3.1:
never an HTML error page there), the admin's templates everywhere else. Used when
DEBUG=False, e.g. for a request with a disallowed Host header, which fails before any view."""

from django.views import defaults

from kotally.lib.envelope import json_envelope

_MACHINE_PATHS = ("/api/", "/webhooks/")


def _machine(request) -> bool:
    return request.path.startswith(_MACHINE_PATHS)


def bad_request(request, exception):
    if _machine(request):
        return json_envelope(400, "VALIDATION_ERROR", "Bad request.")
    return defaults.bad_request(request, exception)


def server_error(request):
    if _machine(request):
        return json_envelope(500, "INTERNAL_ERROR", "Unexpected error; nothing was applied.")
    return defaults.server_error(request)
