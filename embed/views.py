"""The read-only pages GoHighLevel frames (SPEC §5.4, docs/embed.md).

`/embed/` asks the parent window for GHL's encrypted user context and posts it to
`/embed/auth`, which opens the embed session; `/embed/dashboard` and `/embed/panel` read one
location through that session. Nothing here writes to the database, and no view takes a
location from the URL: the session names it.
"""

import hmac
import json
import logging
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from entitlements import selectors as credit_selectors
from entitlements.models import LotStatus

from . import selectors, sso
from .sessions import STATUS, Denial, location_denial, session_open, session_read

logger = logging.getLogger("kotally.embed")

# GoHighLevel's app origins (its own and the LeadConnector white-label host). GHL's docs do not
# list them; EMBED_FRAME_ANCESTORS adds agencies' white-label domains.
GHL_FRAME_ANCESTORS = (
    "https://app.gohighlevel.com",
    "https://*.gohighlevel.com",
    "https://app.leadconnectorhq.com",
    "https://*.leadconnectorhq.com",
)
HANDSHAKE_TIMEOUT_MS = 5000
PANEL_SHOWN = 5


def embed_page(view):
    """A page GHL may frame: the site's Content-Security-Policy with `frame-ancestors` limited
    to GHL and EMBED_FRAME_ANCESTORS (django-csp's per-response override, docs/security.md;
    the rest of the policy stays), X-Frame-Options off, never cached. Every other page keeps
    `frame-ancestors 'none'` and `X-Frame-Options: DENY` (settings)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        ancestors = [*GHL_FRAME_ANCESTORS, *settings.EMBED_FRAME_ANCESTORS]
        response._csp_replace = {"frame-ancestors": ancestors}
        response.xframe_options_exempt = True
        add_never_cache_headers(response)
        return response

    return wrapped


def _denied(request, denial: Denial, retry_url: str = ""):
    logger.info("embed denied: %s", denial.value)
    return render(
        request,
        "embed/denied.html",
        {"denial": denial, "retry_url": retry_url},
        status=STATUS[denial],
    )


def _panel_url(contact_id: str) -> str:
    return f"{reverse('embed-panel')}?{urlencode({'contact_id': contact_id})}"


def _index_url(request) -> str:
    """/embed/ again (a new GHL sign-in), back to the panel's contact when there was one."""
    contact_id = request.GET.get("contact_id", "")
    query = f"?{urlencode({'contact_id': contact_id})}" if contact_id else ""
    return f"{reverse('embed-index')}{query}"


@require_safe
@embed_page
def index(request):
    """The page GHL loads. No session needed: its script runs the GHL handshake."""
    if not settings.GHL_SHARED_SECRET:
        return _denied(request, Denial.NOT_CONFIGURED)
    contact_id = request.GET.get("contact_id", "").strip()
    next_url = _panel_url(contact_id) if contact_id else reverse("embed-dashboard")
    return render(
        request,
        "embed/index.html",
        {"next_url": next_url, "timeout_ms": HANDSHAKE_TIMEOUT_MS},
    )


@csrf_exempt  # the encrypted context is the credential; JSON only, so a cross-site form can't
@require_POST
def auth(request):
    """`{"payload": "<GHL's encrypted context>"}` → 204 and the embed session cookie, or the
    page of the denial (which the /embed/ script shows in place)."""
    if not settings.GHL_SHARED_SECRET:
        return _denied(request, Denial.NOT_CONFIGURED)
    try:
        if request.content_type != "application/json":
            raise ValueError("not JSON")
        payload = json.loads(request.body)["payload"]
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: deep nesting
        payload = None
    if not payload or not isinstance(payload, str):
        return _denied(request, Denial.NO_CONTEXT)
    try:
        context = sso.user_context(payload, settings.GHL_SHARED_SECRET)
    except sso.BadContext as exc:
        logger.info("embed context refused: %s", exc)
        return _denied(request, Denial.BAD_CONTEXT)
    if not context.active_location:
        return _denied(request, Denial.NO_LOCATION)
    location = selectors.location_with_workspace(location_id=context.active_location)
    if denial := location_denial(location, from_ghl=True):
        return _denied(request, denial)
    response = HttpResponse(status=204)
    session_open(response, location=location, user_id=context.user_id, user_name=context.user_name)
    logger.info(
        "embed session opened: location=%s ghl_user=%s", location.location_id, context.user_id
    )
    return response


@require_safe
def sandbox_launch(request):
    """Try the embed without GHL: only when EMBED_SANDBOX_TOKEN is set, and with it. Any active
    location of a workspace in service (the demo one is an API location); `agency_id` is
    accepted like GHL's companyId and, like it, not used."""
    expected = settings.EMBED_SANDBOX_TOKEN
    if not expected:
        raise Http404("The embed sandbox is off.")
    if not hmac.compare_digest(request.GET.get("token", "").encode(), expected.encode()):
        return _denied(request, Denial.SANDBOX_TOKEN)
    location = selectors.location_with_workspace(location_id=request.GET.get("location_id", ""))
    if denial := location_denial(location):
        return _denied(request, denial)
    user_id = request.GET.get("user_id", "") or "sandbox-user"
    response = redirect("embed-dashboard")
    session_open(response, location=location, user_id=user_id, user_name=f"{user_id} (sandbox)")
    return response


@require_safe
@embed_page
def dashboard(request):
    session = session_read(request)
    if session is None:
        return _denied(request, Denial.SESSION_ENDED, _index_url(request))
    location = selectors.location_with_workspace(pk=session.location_pk)
    if denial := location_denial(location):
        return _denied(request, denial)
    now = timezone.now()
    query = request.GET.get("q", "").strip()[:100]
    members, more = selectors.members(location, query=query, now=now)
    return render(
        request,
        "embed/dashboard.html",
        {
            "location": location,
            "session": session,
            "query": query,
            "members": members,
            "more_members": more,
            "low": [m for m in members if m.balance <= selectors.LOW_BALANCE],
            "low_balance": selectors.LOW_BALANCE,
            "expiring": selectors.expiring_lots(location, now),
            "expiring_days": selectors.EXPIRING_DAYS,
            "activity": selectors.recent_activity(location, now),
        },
    )


@require_safe
@embed_page
def panel(request):
    session = session_read(request)
    if session is None:
        return _denied(request, Denial.SESSION_ENDED, _index_url(request))
    contact_id = request.GET.get("contact_id", "").strip()
    contact = selectors.contact_in(session.location_pk, contact_id) if contact_id else None
    location = (
        contact.location if contact else selectors.location_with_workspace(pk=session.location_pk)
    )
    if denial := location_denial(location):
        return _denied(request, denial)
    if contact is None:
        search = reverse("contacts") + (f"?{urlencode({'q': contact_id})}" if contact_id else "")
        context = {
            "location": location,
            "session": session,
            "contact_id": contact_id,
            "admin_search_url": search,
        }
        return render(request, "embed/panel_not_found.html", context, status=404)
    now = timezone.now()
    lots = credit_selectors.contact_lots(contact)
    total, per_config = credit_selectors.credits_of_lots(lots, now)
    items = [credit_selectors.entitlement_item(lot, now) for lot in lots]
    in_use = [
        item
        for item in items
        if item["status"] in (LotStatus.ACTIVE, LotStatus.PAUSED) and item["credits_remaining"]
    ]
    payments = credit_selectors.payments_page(contact, limit=PANEL_SHOWN, cursor=None)
    upcoming = credit_selectors.appointments_page(
        contact, upcoming=True, limit=PANEL_SHOWN, cursor=None
    )
    return render(
        request,
        "embed/panel.html",
        {
            "location": location,
            "session": session,
            "contact": contact,
            "credits_total": total,
            "per_config": per_config,
            "lots": in_use,
            "past_lots": len(items) - len(in_use),
            "payments": payments.items,
            "upcoming": upcoming.items,
            "refusals": selectors.contact_refusals(contact, now, PANEL_SHOWN),
            "refusal_days": selectors.REFUSAL_DAYS,
        },
    )
