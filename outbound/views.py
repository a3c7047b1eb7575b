"""Outbound webhook pages: a location's endpoints (owners and admins only, like the Stripe
fallback page: they hold secrets and URLs), each endpoint's delivery log with Resend. The
signing secret is shown exactly once, on the page load right after it was created."""

import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import member_view
from locations.models import Location

from .forms import EndpointForm
from .models import Delivery, Endpoint
from .services import (
    delivery_resend,
    endpoint_create,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
)
from .urlguard import UnsafeUrl

ONE_TIME_SECRET = "kotally_one_time_webhook_secret"
PAGE_KEY = re.compile(r"[0-9]{1,19}")  # a delivery's primary key (bigint)
LOG_SIZE = 50


def _location(request, location_id) -> Location:
    return get_object_or_404(Location, workspace=request.workspace, location_id=location_id)


def _endpoint(request, location_id, endpoint_id) -> Endpoint:
    return get_object_or_404(
        Endpoint.objects.select_related("location"),
        location__workspace=request.workspace,
        location__location_id=location_id,
        public_id=endpoint_id,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@member_view(read=Role.ADMIN)
def endpoint_list(request, location_id):
    location = _location(request, location_id)
    # Bound on every POST, an empty or non-form one included: it gets the form's errors.
    form = EndpointForm(request.POST if request.method == "POST" else None, location=location)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = endpoint_create(
                location=location,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
            )
        except UnsafeUrl as exc:  # the host's DNS changed since the form checked it
            form.add_error("url", str(exc))
        else:
            request.session[ONE_TIME_SECRET] = {"endpoint": endpoint.public_id, "secret": secret}
            messages.success(request, "Endpoint added. Copy its signing secret now.")
            return redirect(
                "webhook-endpoint", location_id=location.location_id, endpoint_id=endpoint.public_id
            )
    return render(
        request,
        "outbound/endpoints.html",
        {
            "location": location,
            "form": form,
            "endpoints": location.webhook_endpoints.order_by("-active", "-created_at"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@member_view(read=Role.ADMIN)
def endpoint_detail(request, location_id, endpoint_id):
    endpoint = _endpoint(request, location_id, endpoint_id)
    one_time = request.session.pop(ONE_TIME_SECRET, None)
    if one_time and one_time["endpoint"] != endpoint.public_id:
        one_time = None
    deliveries = endpoint.deliveries.select_related("event").order_by("-pk")
    if before := request.GET.get("before", ""):
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not PAGE_KEY.fullmatch(before):
            raise Http404("no such page")
        deliveries = deliveries.filter(pk__lt=int(before))
    page = list(deliveries[: LOG_SIZE + 1])
    return render(
        request,
        "outbound/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "location": endpoint.location,
            "one_time": one_time,
            "deliveries": page[:LOG_SIZE],
            "older": page[LOG_SIZE - 1].pk if len(page) > LOG_SIZE else None,
        },
    )


@require_POST
@member_view
def endpoint_action(request, location_id, endpoint_id, action):
    endpoint = _endpoint(request, location_id, endpoint_id)
    if action == "disable":
        endpoint_disable(endpoint=endpoint, reason=f"disabled by {request.user.email}")
        messages.success(
            request,
            "Endpoint disabled: nothing is sent to it until you enable "
            "it; deliveries already pending wait.",
        )
    elif action == "enable":
        endpoint_enable(endpoint=endpoint)
        messages.success(request, "Endpoint enabled; pending deliveries are being sent.")
    elif action == "delete":
        endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Endpoint {endpoint.url} removed with its delivery log.")
        return redirect("webhook-endpoints", location_id=location_id)
    else:
        raise Http404("no such action")
    return redirect("webhook-endpoint", location_id=location_id, endpoint_id=endpoint_id)


@require_POST
@member_view
def delivery_resend_view(request, location_id, endpoint_id, delivery_pk):
    endpoint = _endpoint(request, location_id, endpoint_id)
    delivery = get_object_or_404(
        Delivery.objects.select_related("endpoint", "event"), endpoint=endpoint, pk=delivery_pk
    )
    if delivery_resend(delivery=delivery):
        messages.success(request, f"{delivery.event.type} queued to be sent again.")
    else:
        messages.error(request, "The endpoint is disabled: enable it first.")
    return redirect("webhook-endpoint", location_id=location_id, endpoint_id=endpoint_id)
