"""Location actions of the admin UI: the API path, a new API location, remove, and the
merchant Stripe fallback settings. The pages that show locations with other apps' data
(Getting Started, the Locations list with GHL health) are in `console`."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import member_view

from .forms import StripeFallbackForm
from .models import Location
from .services import (
    BillingRequired,
    StripeSecretRequired,
    api_location_create,
    api_location_ensure,
    location_remove,
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
