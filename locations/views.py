"""Location actions of the admin UI: the API path, a new API location, remove, and the
merchant Stripe fallback settings. The pages that show locations with other apps' data
(Getting Started, the Locations list with GHL health) are in `console`."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import member_view
from kotally.lib.confirm import confirm_page

from .forms import LocationNameForm, StripeFallbackForm
from .models import Location, LocationStatus
from .services import (
    BillingRequired,
    StripeSecretRequired,
    api_location_create,
    api_location_ensure,
    location_remove,
    location_rename,
    stripe_fallback_update,
)

API_PATH_NEEDS_BILLING = (
    "The API path needs billing first: start your free trial on the Billing step, "
    "then choose the API again."
)


@require_POST
@member_view
def use_api(request):
    """Getting Started, "Use the Kotally API instead": the workspace's API location (created
    once), then the API Clients page."""
    try:
        location, created = api_location_ensure(workspace=request.workspace)
    except BillingRequired:
        messages.error(request, API_PATH_NEEDS_BILLING)
        return redirect("getting-started")
    if created:
        messages.success(request, f"API location {location.location_id} created.")
    return redirect("api-clients")


@require_http_methods(["GET", "POST"])
@member_view
def location_new_api(request):
    """Locations page: add another API location (each active one is billed), after a
    confirmation that says what it costs."""
    if request.method == "GET":
        billed = request.workspace.locations.filter(status=LocationStatus.ACTIVE).exists()
        return confirm_page(
            request,
            title="Add an API location?",
            button="Add API location",
            back=reverse("locations"),
            danger=False,
            happens=[
                "A new location for the Kotally API, with its own id, product configs, "
                "members and API clients.",
                "You can rename or remove it later.",
            ],
            cost=(
                "$19/month more while it is active (each location after the first)."
                if billed
                else "$59/month while it is active (your first active location)."
            ),
        )
    try:
        location = api_location_create(workspace=request.workspace)
    except BillingRequired:
        messages.error(request, "Start a trial or subscribe on Billing before adding locations.")
        return redirect("locations")
    messages.success(request, f"API location {location.location_id} created.")
    return redirect("locations")


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


@require_http_methods(["GET", "POST"])
@member_view
def location_remove_view(request, location_id):
    location = get_object_or_404(Location, workspace=request.workspace, location_id=location_id)
    if request.method == "GET":
        return confirm_page(
            request,
            title=f"Remove {location}?",
            button=f"Remove {location}",
            back=reverse("locations"),
            happens=[
                "Every API deduct, grant and GHL booking for it is refused (LOCATION_INACTIVE).",
                "Its API tokens stop working at once.",
                "Its members, ledger and events are kept.",
            ],
            cost="It stops counting on your bill from the next invoice.",
        )
    if location_remove(location=location):
        messages.success(
            request, f"{location} was removed; its API tokens no longer work. Data is kept."
        )
    else:
        messages.info(request, f"{location} was already removed.")
    return redirect("locations")


@require_POST
@member_view
def location_rename_view(request, location_id):
    """Locations page: the name shown wherever the location appears."""
    location = get_object_or_404(Location, workspace=request.workspace, location_id=location_id)
    form = LocationNameForm(request.POST)
    if form.is_valid():
        location_rename(location=location, name=form.cleaned_data["name"])
        messages.success(request, f"Location {location.location_id} is now “{location.name}”.")
    else:
        messages.error(request, "A location name needs 1 to 255 characters.")
    return redirect("locations")
