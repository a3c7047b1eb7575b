"""GHL install pages (OAuth start / callback / finish) and the product/calendar pickers JSON.

The callback is the one web request that calls GHL synchronously (SPEC §7, with Checkout);
the pickers endpoint is the other, read-only and cached (pickers.py).
"""

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import active_membership, has_role, member_view
from locations.models import Location, LocationKind

from . import installations, pickers, writeback
from .client import GhlAuthError, GhlError, GhlRateLimited
from .models import Installation

logger = logging.getLogger("kotally.ghl")


@member_view(read=Role.ADMIN)
def ghl_connect(request):
    """`Connect GoHighLevel`: off to GHL's choose-location consent with a state nonce."""
    if not installations.is_configured():
        return render(request, "integrations_ghl/oauth_not_configured.html")
    state = installations.new_state()
    request.session[installations.STATE_SESSION_KEY] = state
    return redirect(installations.authorize_url(state))


def _problem(request, message: str, status: int):
    return render(request, "integrations_ghl/oauth_error.html", {"message": message}, status=status)


def ghl_callback(request):
    """GHL's redirect after consent: check state, exchange the code, link or park it."""
    if not installations.is_configured():
        return render(request, "integrations_ghl/oauth_not_configured.html")
    code = request.GET.get("code", "")
    if not code:
        reason = (
            request.GET.get("error_description")
            or request.GET.get("error")
            or ("GoHighLevel sent no authorization code.")
        )
        return _problem(request, f"The install did not complete: {reason}", 400)
    expected = request.session.pop(installations.STATE_SESSION_KEY, None)
    # Installs started from the Marketplace carry no state of ours: tolerated (SPEC §5.1).
    if expected is not None and request.GET.get("state") != expected:
        return _problem(
            request,
            "This install link does not match the one Kotally started "
            "(expired, or opened in another browser). Start again from "
            "Connect GoHighLevel.",
            400,
        )
    try:
        token = installations.exchange_code(code)
    except GhlError as exc:
        logger.warning("ghl code exchange failed: %s", exc)
        return _problem(
            request,
            "GoHighLevel did not accept the install (the code may have "
            "expired). Please install again.",
            502,
        )

    started_here = expected is not None  # our own Connect GoHighLevel, state checked above
    if started_here and _connecting_membership(request) is not None:
        return _link(request, token)
    # Park the install. Without our state nothing proves this person started it (a link with
    # someone else's code would otherwise add *their* GHL location to this workspace), so a
    # signed-in owner/admin confirms with a POST; others sign in first.
    request.session[installations.PENDING_SESSION_KEY] = installations.pending_install_save(token)
    if request.user.is_authenticated:
        return redirect("ghl-finish")
    finish = reverse("ghl-finish")
    try:
        signup_url = reverse("signup") + "?" + urlencode({"next": finish})
    except NoReverseMatch:
        signup_url = ""
    login_url = reverse("login") + "?" + urlencode({"next": finish})
    return render(
        request,
        "integrations_ghl/oauth_signin.html",
        {"login_url": login_url, "signup_url": signup_url},
    )


def ghl_finish(request):
    """An install parked by the callback: GET asks the signed-in owner/admin to confirm the
    workspace it joins, POST (CSRF-protected) links it."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = _connecting_membership(request)
    if membership is None:
        return _not_allowed(request)  # the parked install stays for an owner/admin session
    key = request.session.get(installations.PENDING_SESSION_KEY, "")
    token = installations.pending_install_peek(key)
    if token is None:
        return _problem(
            request,
            "There is no GoHighLevel install waiting to be finished (it "
            "may have expired after an hour). Install again from GoHighLevel or "
            "use Connect GoHighLevel.",
            404,
        )
    if request.method != "POST":
        return render(
            request,
            "integrations_ghl/oauth_confirm.html",
            {
                "workspace": membership.workspace,
                "location_ids": installations.pending_locations(token),
            },
        )
    request.session.pop(installations.PENDING_SESSION_KEY, None)
    installations.pending_install_pop(key)
    return _link(request, token)


def _connecting_membership(request):
    """The active membership when it may connect GoHighLevel (owner or admin), else None."""
    membership = active_membership(request)
    return membership if membership is not None and has_role(membership, Role.ADMIN) else None


def _not_allowed(request):
    return _problem(
        request,
        "Only a workspace owner or admin can connect GoHighLevel. "
        "Ask one of them to install Kotally.",
        403,
    )


def _link(request, token: dict):
    membership = _connecting_membership(request)
    if membership is None:
        return _not_allowed(request)
    try:
        result = installations.install_link(workspace=membership.workspace, token=token)
    except installations.InstallRefused as exc:
        return _problem(request, str(exc), 409)
    except GhlError as exc:
        logger.warning("ghl location token mint failed: %s", exc)
        return _problem(
            request,
            "GoHighLevel did not hand out a location token. Please install again in a minute.",
            502,
        )
    return render(
        request,
        "integrations_ghl/oauth_done.html",
        {"locations": result.locations, "workspace": membership.workspace},
    )


@member_view
def ghl_pickers(request, location_id: str):
    """JSON for the Product Config form: the location's GHL products (with prices) and
    calendars. Errors use the API's envelope shape (ok/reason_code/message)."""
    location = get_object_or_404(
        Location, workspace=request.workspace, location_id=location_id, kind=LocationKind.GHL
    )
    try:
        return JsonResponse({"ok": True, **pickers.picker_options(location)})
    except GhlRateLimited as exc:
        response = JsonResponse(
            {
                "ok": False,
                "reason_code": "GHL_RATE_LIMITED",
                "message": "GoHighLevel is busy; type the ids or retry.",
            },
            status=429,
        )
        response["Retry-After"] = str(int(exc.retry_after) + 1)
        return response
    except GhlAuthError:
        return JsonResponse(
            {
                "ok": False,
                "reason_code": "GHL_NOT_CONNECTED",
                "message": "This location is not connected to GoHighLevel; "
                "reconnect it or type the ids.",
            },
            status=409,
        )
    except GhlError:
        return JsonResponse(
            {
                "ok": False,
                "reason_code": "GHL_UNAVAILABLE",
                "message": "GoHighLevel could not be reached; type the ids.",
            },
            status=502,
        )


@require_POST
@member_view
def location_writeback(request, location_id):
    """Locations page: opt a GHL location in or out of the write-back (credits field, tags)."""
    location = get_object_or_404(
        Location, workspace=request.workspace, location_id=location_id, kind=LocationKind.GHL
    )
    installation = Installation.objects.filter(location=location, active=True).first()
    enabled = request.POST.get("enabled") == "on"
    if installation is None:
        messages.error(request, f"{location} is not connected: reconnect GoHighLevel first.")
        return redirect("locations")
    try:
        writeback.writeback_set(installation=installation, enabled=enabled)
    except writeback.ScopesMissing as exc:
        messages.error(
            request,
            f"Reconnect GoHighLevel first: {location} was installed before "
            f"Kotally asked for {exc}.",
        )
    else:
        messages.success(
            request, f"GoHighLevel write-back {'on' if enabled else 'off'} for {location}."
        )
    return redirect("locations")
