from django.conf import settings
from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import member_view
from api.models import ApiClient
from entitlements.models import ProductConfig
from integrations_ghl.models import InboundEvent, Provider

from .forms import StripeFallbackForm
from .lifecycle import StripeSecretRequired, location_remove, stripe_fallback_update
from .models import Location, LocationKind, LocationStatus
from .services import BillingRequired, api_location_create


def ghl_connect_url() -> str:
    """The GHL install URL when the integration is installed and configured, else ""."""
    if not (settings.GHL_CLIENT_ID and settings.GHL_CLIENT_SECRET):
        return ""
    try:
        return reverse("ghl-connect")
    except NoReverseMatch:
        return ""


def _live_locations(workspace):
    return workspace.locations.exclude(status=LocationStatus.REMOVED).order_by("created_at", "pk")


@member_view
def getting_started(request):
    workspace = request.workspace
    locations = list(_live_locations(workspace))
    steps = {
        "billing": workspace.service_allowed,
        "location": bool(locations),
        "configs": ProductConfig.objects.filter(
            location__workspace=workspace, active=True
        ).exists(),
        "client": ApiClient.objects.filter(location__workspace=workspace, active=True).exists(),
    }
    return render(
        request,
        "locations/getting_started.html",
        {
            "steps": steps,
            "done_count": sum(steps.values()),
            "locations": locations,
            "ghl_connect_url": ghl_connect_url(),
            "trial_days": settings.TRIAL_DAYS,
        },
    )


@require_POST
@member_view
def use_api(request):
    """Getting Started, "Use the Kotally API instead": reuses the workspace's API location when
    it has one, so a double submit does not create (and bill) a second one."""
    workspace = request.workspace
    refusal = ("The API path needs billing first: start your free trial on the Billing step, "
               "then choose the API again.")
    if not workspace.service_allowed:
        messages.error(request, refusal)
        return redirect("getting-started")
    location = _live_locations(workspace).filter(kind=LocationKind.API).first()
    if location is None:
        try:
            location = api_location_create(workspace=workspace)
        except BillingRequired:  # billing changed since the check above
            messages.error(request, refusal)
            return redirect("getting-started")
        messages.success(request, f"API location {location.location_id} created.")
    return redirect("api-clients")


@require_POST
@member_view
def location_new_api(request):
    """Locations page: add another API location (each active one is billed)."""
    try:
        location = api_location_create(workspace=request.workspace)
    except BillingRequired:
        messages.error(request, "Start a trial or subscribe on Billing before adding locations.")
        return redirect("locations")
    messages.success(request, f"API location {location.location_id} created.")
    return redirect("locations")


def _with_ghl_health(locations):
    """Locations with their installation and their newest GHL event, in one query: the
    correlated subqueries each read one row through inbound_location_idx."""
    newest = InboundEvent.objects.filter(
        location=OuterRef("pk"), provider=Provider.GHL
    ).order_by("-received_at", "-pk")
    return locations.select_related("installation").annotate(
        last_event_at=Subquery(newest.values("received_at")[:1]),
        last_event_type=Subquery(newest.values("event_type")[:1]),
        last_event_status=Subquery(newest.values("status")[:1]),
    )


def token_state(location: Location, now) -> tuple[str, str]:
    """(badge class, words) for a GHL location's OAuth tokens on the Locations page."""
    installation = getattr(location, "installation", None)
    if installation is None:
        return "disconnected", "no tokens"
    if not installation.active:
        return "disconnected", "revoked"
    if installation.refresh_failures:
        return "pending", f"refresh failing ({installation.refresh_failures}×)"
    if installation.expires_at <= now:
        return "pending", "expired, refresh due"
    return "ok", "ok"


def needs_reconnect(location: Location) -> bool:
    """A GHL location whose app was uninstalled or whose tokens are gone or revoked."""
    if location.kind != LocationKind.GHL or location.status == LocationStatus.REMOVED:
        return False
    installation = getattr(location, "installation", None)
    return (
        location.status == LocationStatus.DISCONNECTED
        or installation is None
        or not installation.active
    )


@member_view
def location_list(request):
    now = timezone.now()
    locations = list(
        _with_ghl_health(request.workspace.locations.order_by("status", "created_at", "pk"))
    )
    for location in locations:
        if location.kind == LocationKind.GHL:
            location.token_badge, location.token_words = token_state(location, now)
            location.needs_reconnect = needs_reconnect(location)
    return render(
        request,
        "locations/list.html",
        {"locations": locations, "ghl_connect_url": ghl_connect_url()},
    )


def merchant_webhook_url(location: Location) -> str:
    """The endpoint to paste into the merchant's Stripe dashboard (SPEC §6.2)."""
    path = reverse("webhook-stripe-merchant", kwargs={"location_id": location.location_id})
    return settings.KOTALLY_BASE_URL.rstrip("/") + path


@member_view(read=Role.ADMIN)
def location_stripe(request, location_id):
    """Merchant Stripe fallback settings of one location. The form is for owners and admins
    (they change configuration); viewers see the on / set / not set summary on Settings."""
    location = get_object_or_404(Location, workspace=request.workspace, location_id=location_id)
    form = StripeFallbackForm(request.POST or None, location=location)
    if request.method == "POST" and form.is_valid():
        try:
            stripe_fallback_update(location=location, **form.changes())
        except StripeSecretRequired:
            # The secret was cleared by someone else between the form check and the save.
            form.add_error("webhook_secret", "Turning the fallback on needs the signing secret.")
        else:
            messages.success(request, f"Stripe fallback for {location} saved.")
            return redirect("location-stripe", location_id=location.location_id)
    return render(
        request,
        "locations/stripe.html",
        {"location": location, "form": form, "webhook_url": merchant_webhook_url(location)},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@member_view
def location_remove_view(request, location_id):
    location = get_object_or_404(Location, workspace=request.workspace, location_id=location_id)
    if location_remove(location=location):
        messages.success(
            request, f"{location} was removed; its API tokens no longer work. Data is kept."
        )
    else:
        messages.info(request, f"{location} was already removed.")
    return redirect("locations")
