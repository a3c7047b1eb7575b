"""Where a person goes right after signing in or signing up.

A GoHighLevel install that reaches Kotally before anyone is signed in is parked by the GHL
OAuth callback under `PENDING_INSTALL_SESSION_KEY` (integrations_ghl.installations sets and
clears it); signing in or up then resumes it at the `PENDING_INSTALL_URL_NAME` page. The key
lives here, not in the integration, so `accounts` needs no import from an app above it.
"""

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

PENDING_INSTALL_SESSION_KEY = "ghl_pending_install"
PENDING_INSTALL_URL_NAME = "ghl-finish"


def safe_next(request) -> str:
    """The `next` the request carries (form field first, then query), when it stays on this
    site; "" otherwise, so a crafted link cannot bounce a fresh sign-in to another host."""
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    allowed = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if allowed else ""


def after_sign_in(request, default: str) -> str:
    """The parked GHL install comes first: it expires after an hour and is lost if nobody
    finishes it. Then a safe `next`, then `default`."""
    if request.session.get(PENDING_INSTALL_SESSION_KEY):
        return reverse(PENDING_INSTALL_URL_NAME)
    return safe_next(request) or default


def attempted_email(request, credentials) -> str:
    """The email a sign-in tried (django-axes counts failures per email and address), compared
    lowercased as accounts are stored, so `Ann@` and `ann@` share one count."""
    email = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(email).strip().lower()
