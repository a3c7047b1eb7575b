from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from accounts.permissions import member_view
from api.models import ApiClient
from entitlements.models import ProductConfig

from .lifecycle import location_remove
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
        },
    )


@require_POST
@member_view
def use_api(request):
    """Getting Started, "Use the Kotally API instead": reuses the workspace's API location when
    it has one, so a double submit does not create (and bill) a second one."""
    workspace = request.workspace
    location = _live_locations(workspace).filter(kind=LocationKind.API).first()
    if location is None:
        try:
            location = api_location_create(workspace=workspace)
        except BillingRequired:
            messages.error(
                request,
                "The API path needs billing first: start your free trial on the Billing step, "
                "then choose the API again.",
            )
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


@member_view
def location_list(request):
    locations = request.workspace.locations.order_by("status", "created_at", "pk")
    return render(
        request,
        "locations/list.html",
        {"locations": locations, "ghl_connect_url": ghl_connect_url()},
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
