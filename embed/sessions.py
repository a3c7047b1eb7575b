"""The embed session and who may open one (SPEC §5.4).

The session is a signed cookie of its own (`kotally_embed`, path /embed/, 8 hours,
`SameSite=None; Secure; Partitioned` so it travels inside GHL's cross-site iframe). It names
one location and one GHL user; the admin session and CSRF cookies are never read or written
here. Every embed request re-checks the location, so a disconnect or a suspension takes effect
at once.
"""

from dataclasses import dataclass
from http.cookies import Morsel

from django.core import signing
from django.db import models

from locations.models import Location, LocationKind, LocationStatus

COOKIE = "kotally_embed"
MAX_AGE = 8 * 3600
_SALT = "kotally.embed.session"


class Denial(models.TextChoices):
    """Why an embed page shows the "Open Kotally" page instead of data (docs/embed.md)."""

    NOT_CONFIGURED = "not_configured", "Kotally's GoHighLevel sign-in is not set up yet."
    NO_CONTEXT = (
        "no_context",
        ("Kotally did not receive your GoHighLevel sign-in. Open this page from GoHighLevel."),
    )
    BAD_CONTEXT = "bad_context", "Kotally could not verify your GoHighLevel sign-in."
    NO_LOCATION = (
        "no_location",
        ("Open Kotally inside a sub-account: the agency view has no location to show."),
    )
    NOT_CONNECTED = "not_connected", "This location is not connected to Kotally."
    BILLING_SUSPENDED = (
        "billing_suspended",
        ("This studio's Kotally subscription is suspended. Its data is kept."),
    )
    SESSION_ENDED = (
        "session_ended",
        ("Your Kotally session has ended. Reload the page in GoHighLevel to sign in again."),
    )
    SANDBOX_TOKEN = "sandbox_token", "The sandbox token is missing or wrong."


# 401: no (valid) credential; 403: a valid one for a location Kotally does not serve now.
STATUS = {
    Denial.NOT_CONFIGURED: 503,
    Denial.NO_CONTEXT: 401,
    Denial.BAD_CONTEXT: 401,
    Denial.NO_LOCATION: 403,
    Denial.NOT_CONNECTED: 403,
    Denial.BILLING_SUSPENDED: 403,
    Denial.SESSION_ENDED: 401,
    Denial.SANDBOX_TOKEN: 401,
}


@dataclass(frozen=True)
class EmbedSession:
    location_pk: int
    user_id: str
    user_name: str


def location_denial(location: Location | None, *, from_ghl: bool = False) -> Denial | None:
    """Why `location` may not be shown, or None. Served: an active location of a workspace whose
    billing allows service. Opened `from_ghl` (SSO) it must also be a GHL location: `active`
    then means installed with working tokens (an uninstall or revocation disconnects it)."""
    if location is None or location.status != LocationStatus.ACTIVE:
        return Denial.NOT_CONNECTED
    if from_ghl and location.kind != LocationKind.GHL:
        return Denial.NOT_CONNECTED
    if not location.workspace.service_allowed:
        return Denial.BILLING_SUSPENDED
    return None


class _PartitionedMorsel(Morsel):
    """A cookie with the `Partitioned` attribute (CHIPS), which Python's Morsel learns only in
    3.14. Browsers that block third-party cookies (Chromium in this repo's browser tests,
    Chrome's incognito) still keep a partitioned one: stored per top-level site, here GHL's."""

    def OutputString(self, attrs=None):
        return f"{super().OutputString(attrs)}; Partitioned"


def session_open(response, *, location: Location, user_id: str, user_name: str) -> None:
    value = signing.dumps({"l": location.pk, "u": user_id, "n": user_name}, salt=_SALT)
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path="/embed/",
        secure=True,
        httponly=True,
        samesite="None",
    )
    cookie = _PartitionedMorsel()
    cookie.set(COOKIE, value, response.cookies[COOKIE].coded_value)
    cookie.update(response.cookies[COOKIE])
    response.cookies[COOKIE] = cookie


def session_read(request) -> EmbedSession | None:
    """The request's embed session, or None when it is missing, forged or older than 8 h."""
    value = request.COOKIES.get(COOKIE)
    if not value:
        return None
    try:
        data = signing.loads(value, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    return EmbedSession(location_pk=data["l"], user_id=data["u"], user_name=data["n"])
