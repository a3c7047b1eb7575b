"""Every call to Kotally's own Stripe account (SPEC §6.1), with STRIPE_SECRET_KEY, at the
pinned API version and STRIPE_API_BASE (kotally.lib.stripe_api). Plain functions; Stripe's
objects come back as dicts."""

import stripe
from django.conf import settings

from kotally.lib.stripe_api import StripeUnavailable, client, transient

# Where Checkout and the customer portal live. Stripe's custom domains for them are not
# supported: the CSP of pages posting to them names these hosts (billing.views).
STRIPE_PAGES = ["https://checkout.stripe.com", "https://billing.stripe.com"]

# A quantity change mid-period is charged or credited pro rata on the next invoice (Stripe's
# default; docs/billing.md). Trials are never prorated.
PRORATION_BEHAVIOR = "create_prorations"


def configured() -> bool:
    """Stripe billing is on only with all four settings; otherwise the local free trial."""
    return all(
        (
            settings.STRIPE_SECRET_KEY,
            settings.STRIPE_BILLING_WEBHOOK_SECRET,
            settings.STRIPE_PRICE_BASE,
            settings.STRIPE_PRICE_ADDITIONAL_LOCATION,
        )
    )


def _call(call) -> dict:
    try:
        return call().to_dict()
    except stripe.StripeError as exc:
        if transient(exc):
            raise StripeUnavailable(str(exc)) from exc
        raise


def _v1():
    return client(settings.STRIPE_SECRET_KEY).v1


def checkout_session_create(
    *,
    workspace_ref: str,
    customer: str,
    email: str,
    additional_locations: int,
    trial: dict,
    success_url: str,
    cancel_url: str,
) -> dict:
    """A subscription-mode Checkout Session for the plan. `trial` is {} or the
    subscription_data trial parameters; the workspace id rides along as client_reference_id
    and as the subscription's metadata, so every later event names its workspace.
    https://docs.stripe.com/api/checkout/sessions/create"""
    line_items = [{"price": settings.STRIPE_PRICE_BASE, "quantity": 1}]
    if additional_locations:
        line_items.append(
            {"price": settings.STRIPE_PRICE_ADDITIONAL_LOCATION, "quantity": additional_locations}
        )
    params = {
        "mode": "subscription",
        "client_reference_id": workspace_ref,
        "line_items": line_items,
        "subscription_data": {"metadata": {"workspace": workspace_ref}, **trial},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = email
    return _call(lambda: _v1().checkout.sessions.create(params=params))


def portal_session_create(*, customer: str, return_url: str) -> dict:
    """https://docs.stripe.com/api/customer_portal/sessions/create"""
    return _call(
        lambda: _v1().billing_portal.sessions.create(
            params={"customer": customer, "return_url": return_url}
        )
    )


def subscription_get(subscription_id: str) -> dict:
    """https://docs.stripe.com/api/subscriptions/retrieve"""
    return _call(lambda: _v1().subscriptions.retrieve(subscription_id))


def additional_quantity_set(*, subscription: dict, quantity: int) -> bool:
    """Make the subscription's additional-location item hold `quantity` (its item is added
    the first time it is needed). Returns False when it already did.
    https://docs.stripe.com/api/subscription_items/update"""
    price = settings.STRIPE_PRICE_ADDITIONAL_LOCATION
    items = (subscription.get("items") or {}).get("data") or []
    item = next((i for i in items if (i.get("price") or {}).get("id") == price), None)
    params = {"quantity": quantity, "proration_behavior": PRORATION_BEHAVIOR}
    if item is not None:
        if item.get("quantity") == quantity:
            return False
        _call(lambda: _v1().subscription_items.update(item["id"], params=params))
    elif quantity:
        _call(
            lambda: _v1().subscription_items.create(
                params={"subscription": subscription["id"], "price": price, **params}
            )
        )
    else:
        return False
    return True
