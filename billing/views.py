"""Billing page (SPEC §4/§6.1). With Stripe configured (billing.client.configured) owners start
Stripe Checkout and open the customer portal; without it the local free trial stands in, so
`make run` needs nothing."""

import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import BillingStatus, Role
from accounts.permissions import has_role, member_view
from kotally.lib.stripe_api import StripeUnavailable
from locations.models import LocationStatus

from . import client
from .plans import PLAN, monthly_price_cents
from .services import (
    billing_can_checkout,
    billing_checkout_url,
    billing_portal_url,
    billing_start_trial,
)

logger = logging.getLogger("kotally.billing")
STRIPE_DOWN = "Stripe could not be reached just now. Please try again in a minute."


def allow_stripe_redirects(response):
    """A page whose forms post to billing-checkout / billing-portal: those answer with a
    redirect to Stripe, and browsers hold that redirect to the page's CSP `form-action`."""
    if client.configured():
        response._csp_update = {"form-action": client.STRIPE_PAGES}
    return response


@member_view
def billing_page(request):
    workspace = request.workspace
    active = workspace.locations.filter(status=LocationStatus.ACTIVE).count()
    stripe_billing = client.configured()
    return allow_stripe_redirects(
        render(
            request,
            "billing/billing.html",
            {
                "plan": PLAN,
                "active_locations": active,
                "price_cents": monthly_price_cents(active),
                "next_price_cents": monthly_price_cents(active + 1),
                "pending_locations": workspace.locations.filter(
                    status=LocationStatus.PENDING
                ).count(),
                "stripe_billing": stripe_billing,
                "can_start_trial": not stripe_billing and workspace.billing_status == "none",
                "can_checkout": stripe_billing and billing_can_checkout(workspace),
                "has_portal": stripe_billing and bool(workspace.stripe_customer_id),
                "first_subscription": workspace.billing_status == BillingStatus.NONE,
                "returned_from_checkout": request.GET.get("checkout") == "done",
                "is_owner": has_role(request.membership, Role.OWNER),
                "trial_days": settings.TRIAL_DAYS,
            },
        )
    )


@require_POST
@member_view(change=Role.OWNER)
def start_trial(request):
    if client.configured():
        messages.info(request, "Start your free trial through Stripe Checkout below.")
    elif billing_start_trial(workspace=request.workspace):
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


@require_POST
@member_view(change=Role.OWNER)
def checkout(request):
    """Redirect to a new Stripe Checkout Session for the workspace's subscription."""
    workspace = request.workspace
    if not client.configured():
        messages.error(request, "Stripe billing is not configured on this server.")
    elif not billing_can_checkout(workspace):
        messages.info(request, "Your subscription is already set up: manage it in the portal.")
    else:
        try:
            return redirect(billing_checkout_url(workspace=workspace, email=request.user.email))
        except (StripeUnavailable, stripe.StripeError):
            logger.exception("Stripe Checkout could not start for %s", workspace.public_id)
            messages.error(request, STRIPE_DOWN)
    return redirect("billing")


@require_POST
@member_view(change=Role.OWNER)
def portal(request):
    """Redirect to Stripe's customer portal (payment method, invoices, cancellation)."""
    workspace = request.workspace
    if not (client.configured() and workspace.stripe_customer_id):
        messages.error(request, "There is no Stripe subscription to manage yet.")
        return redirect("billing")
    try:
        return redirect(billing_portal_url(workspace=workspace))
    except (StripeUnavailable, stripe.StripeError):
        logger.exception("Stripe's billing portal could not open for %s", workspace.public_id)
        messages.error(request, STRIPE_DOWN)
    return redirect("billing")
