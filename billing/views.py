"""Billing page (SPEC §4/§6.1). Only the local provider (free trial) exists for now; Stripe
Checkout and the portal are wired later."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import has_role, member_view
from locations.models import LocationStatus

from .plans import PLAN, monthly_price_cents
from .services import billing_start_trial


@member_view
def billing_page(request):
    workspace = request.workspace
    active = workspace.locations.filter(status=LocationStatus.ACTIVE).count()
    return render(
        request,
        "billing/billing.html",
        {
            "plan": PLAN,
            "active_locations": active,
            "price_cents": monthly_price_cents(active),
            "next_price_cents": monthly_price_cents(active + 1),
            "pending_locations": workspace.locations.filter(status=LocationStatus.PENDING).count(),
            "stripe_configured": bool(settings.STRIPE_SECRET_KEY),
            "can_start_trial": workspace.billing_status == "none",
            "is_owner": has_role(request.membership, Role.OWNER),
            "trial_days": settings.TRIAL_DAYS,
        },
    )


@require_POST
@member_view(change=Role.OWNER)
def start_trial(request):
    if billing_start_trial(workspace=request.workspace):
        messages.success(
            request,
            f"Your {settings.TRIAL_DAYS}-day free trial has started "
            f"(until {request.workspace.trial_ends_at:%b %d, %Y}).",
        )
    else:
        messages.info(request, "A trial can only be started once, before any subscription.")
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("billing")
