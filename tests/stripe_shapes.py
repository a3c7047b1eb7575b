"""Stripe objects for tests, built from Stripe's own documented shapes.

Every object starts as a deep copy of a verbatim Stripe fixture in tests/fixtures/stripe/openapi/
(stripe/openapi's `fixtures3.json`, see the README there) and only VALUES change: `shaped`
refuses a key the fixture does not have, unless it is one of the few documented fields that
stripe-mock's fixture leaves out (`DOCUMENTED_EXTRA`, each naming its schema). So a test can
set ids, amounts and statuses, never invent a field.
"""

import copy
import json
import time
from functools import cache
from pathlib import Path

import stripe

OPENAPI = Path(__file__).resolve().parent / "fixtures" / "stripe" / "openapi"

# Fields documented in the API spec (2026-07-29.dahlia; the same in stripe-python 16.1.0's
# typed classes) that the stripe-mock fixture of that object does not carry.
DOCUMENTED_EXTRA = {
    # InvoiceLineItem.pricing.price_details: {price, product} (billing_bill_resource_invoicing_
    # pricing_pricing); the fixture's `pricing` has only `type` and `unit_amount_decimal`.
    "invoice_line_item": {"pricing.price_details"},
}

# Elements of documented arrays that no fixture holds an example of.
DISCOUNT_AMOUNT = {"amount": 0, "discount": "di_test"}  # discounts_resource_discount_amount
TAX = {  # billing_bill_resource_invoicing_taxes_tax
    "amount": 0,
    "tax_behavior": "exclusive",
    "tax_rate_details": {"tax_rate": "txr_test"},
    "taxability_reason": "standard_rated",
    "taxable_amount": 0,
    "type": "tax_rate_details",
}


@cache
def _verbatim(name: str) -> str:
    return (OPENAPI / f"{name}.json").read_text()


def _check(name: str, path: str, old, new) -> None:
    """A dict replacing a dict may only use keys the old one has (or documented extras);
    metadata is the merchant's own map, an event's data.object any object."""
    free_form = path.rsplit(".", 1)[-1] == "metadata" or path == "data.object"
    if free_form or not (isinstance(old, dict) and isinstance(new, dict)):
        return
    for key, value in new.items():
        if key not in old and f"{path}.{key}" not in DOCUMENTED_EXTRA.get(name, ()):
            raise KeyError(f"{name} has no documented field {path}.{key}")
        _check(name, f"{path}.{key}", old.get(key), value)


def shaped(name: str, changes: dict) -> dict:
    """The fixture `name` with `changes` ({"dotted.path": value}) applied."""
    obj = json.loads(_verbatim(name))
    for path, value in changes.items():
        *parents, key = path.split(".")
        node = obj
        for part in parents:
            node = node[part]
        if key not in node and path not in DOCUMENTED_EXTRA.get(name, ()):
            raise KeyError(f"{name} has no documented field {path}")
        _check(name, path, node.get(key), value)
        node[key] = copy.deepcopy(value)
    return obj


def element(template: dict, **values) -> dict:
    unknown = set(values) - set(template)
    if unknown:
        raise KeyError(f"not in the documented shape: {sorted(unknown)}")
    return {**copy.deepcopy(template), **values}


def listing(data: list, url: str) -> dict:
    """A Stripe list object (the shape of `invoice.lines`)."""
    return {"data": data, "has_more": False, "object": "list", "url": url}


def now() -> int:
    return int(time.time())


# --- objects ------------------------------------------------------------------------------------


def event(
    event_type: str,
    obj: dict,
    *,
    event_id: str,
    created: int | None = None,
    api_version: str | None = None,
) -> dict:
    """An event as Stripe delivers it; `api_version` is the endpoint's (Kotally's pinned one
    unless a test plays an endpoint on an older version, e.g. ACACIA)."""
    from kotally.lib.stripe_api import API_VERSION

    return shaped(
        "event",
        {
            "id": event_id,
            "type": event_type,
            "created": created or now(),
            "api_version": api_version or API_VERSION,
            "livemode": False,
            "data.object": obj,
        },
    )


def invoice_line(
    line_id: str,
    *,
    invoice: str,
    price: str,
    product: str,
    amount: int,
    subscription: str | None = None,
    proration: bool = False,
    quantity: int = 1,
    discounts: tuple[int, ...] = (),
    taxes: tuple[dict, ...] = (),
) -> dict:
    """A subscription line; `amount` is before discounts and taxes (they are listed apart)."""
    return shaped(
        "invoice_line_item",
        {
            "id": line_id,
            "invoice": invoice,
            "amount": amount,
            "subtotal": amount,
            "quantity": quantity,
            "pricing.price_details": {"price": price, "product": product},
            "discount_amounts": [element(DISCOUNT_AMOUNT, amount=d) for d in discounts],
            "taxes": [element(TAX, **tax) for tax in taxes],
            "parent.type": "subscription_item_details",
            "parent.invoice_item_details": None,
            "parent.subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": None,
                "subscription": subscription,
                "subscription_item": f"si_{line_id}",
            },
        },
    )


def invoice(
    invoice_id: str,
    *,
    lines: list,
    amount_paid: int,
    billing_reason: str,
    subscription: str | None = None,
    status: str = "paid",
    customer: str = "cus_test",
    customer_email: str | None = None,
    paid_at: int | None = None,
    amount_due: int | None = None,
    total: int | None = None,
) -> dict:
    """`total` (after discounts and tax) defaults to what was due; a customer credit balance
    makes `amount_due` smaller than it."""
    due = amount_paid if amount_due is None else amount_due
    parent = None
    if subscription:
        parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
        }
    return shaped(
        "invoice",
        {
            "id": invoice_id,
            "customer": customer,
            "customer_email": customer_email,
            "amount_due": due,
            "amount_paid": amount_paid,
            "amount_remaining": due - amount_paid,
            "billing_reason": billing_reason,
            "status": status,
            "parent": parent,
            "subtotal": sum(line["amount"] for line in lines),
            "total": due if total is None else total,
            "status_transitions.paid_at": paid_at or (now() if status == "paid" else None),
            "lines": listing(lines, f"/v1/invoices/{invoice_id}/lines"),
            "livemode": False,
            "amount_overpaid": 0,
        },
    )


def checkout_session(
    session_id: str,
    *,
    mode: str = "payment",
    payment_status: str = "paid",
    amount_total: int | None = None,
    payment_intent: str | None = None,
    subscription: str | None = None,
    invoice_id: str | None = None,
    customer: str | None = "cus_test",
    email: str = "ava@example.com",
    metadata: dict | None = None,
    client_reference_id: str | None = None,
    url: str | None = None,
) -> dict:
    return shaped(
        "checkout.session",
        {
            "id": session_id,
            "mode": mode,
            "payment_status": payment_status,
            "status": "open" if url else "complete",
            "amount_total": amount_total,
            "amount_subtotal": amount_total,
            "payment_intent": payment_intent,
            "subscription": subscription,
            "invoice": invoice_id,
            "customer": customer,
            "customer_details.email": email,
            "metadata": metadata or {},
            "client_reference_id": client_reference_id,
            "currency": "usd",
            "url": url,
            "total_details.amount_discount": 0,
            "total_details.amount_shipping": 0,
            "total_details.amount_tax": 0,
        },
    )


def checkout_item(
    item_id: str,
    *,
    price: str,
    product: str,
    amount_total: int,
    amount_subtotal: int | None = None,
    quantity: int = 1,
    price_type: str = "recurring",
) -> dict:
    """A Checkout line item: `amount_total` is after discounts and taxes. `price_type` is
    "recurring" (a subscription's price) or "one_time" (a pack's)."""
    subtotal = amount_total if amount_subtotal is None else amount_subtotal
    return shaped(
        "item",
        {
            "id": item_id,
            "price.id": price,
            "price.product": product,
            "price.type": price_type,
            "amount_total": amount_total,
            "amount_subtotal": subtotal,
            "quantity": quantity,
        },
    )


def invoice_payment(
    payment_id: str, *, invoice_id: str, payment_intent: str, amount_paid: int
) -> dict:
    """From the docs example (the stripe-mock fixture has no payment_intent, see README)."""
    return shaped(
        "invoice_payment.docs_example",
        {
            "id": payment_id,
            "invoice": invoice_id,
            "amount_paid": amount_paid,
            "amount_requested": amount_paid,
            "payment.payment_intent": payment_intent,
        },
    )


def charge(charge_id: str, *, payment_intent: str, amount: int, amount_refunded: int = 0) -> dict:
    return shaped(
        "charge",
        {
            "id": charge_id,
            "payment_intent": payment_intent,
            "amount": amount,
            "amount_captured": amount,
            "captured": True,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= amount,
            "customer": "cus_test",
        },
    )


def dispute(
    dispute_id: str,
    *,
    charge_id: str,
    payment_intent: str | None,
    amount: int,
    reason: str = "fraudulent",
) -> dict:
    return shaped(
        "dispute",
        {
            "id": dispute_id,
            "charge": charge_id,
            "payment_intent": payment_intent,
            "amount": amount,
            "reason": reason,
            "status": "needs_response",
        },
    )


def subscription_item(
    item_id: str, *, subscription: str, price: str, quantity: int, period_end: int
) -> dict:
    return shaped(
        "subscription_item",
        {
            "id": item_id,
            "subscription": subscription,
            "price.id": price,
            "quantity": quantity,
            "current_period_start": period_end - 30 * 86400,
            "current_period_end": period_end,
        },
    )


def subscription(
    subscription_id: str,
    *,
    status: str,
    items: list,
    customer: str = "cus_test",
    metadata: dict | None = None,
    trial_end: int | None = None,
) -> dict:
    return shaped(
        "subscription",
        {
            "id": subscription_id,
            "status": status,
            "customer": customer,
            "metadata": metadata or {},
            "trial_end": trial_end,
            "trial_start": trial_end - 14 * 86400 if trial_end else None,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "items": listing(items, f"/v1/subscription_items?subscription={subscription_id}"),
            "livemode": False,
            "pending_update": None,
        },
    )


def portal_session(url: str, *, customer: str, return_url: str) -> dict:
    return shaped(
        "billing_portal.session",
        {
            "url": url,
            "customer": customer,
            "return_url": return_url,
            "flow": None,
        },
    )


# --- before 2025-03-31.basil ---------------------------------------------------------------------
# Stripe renders a webhook in its endpoint's API version, and a merchant's endpoint may be older
# than Kotally's pin: the fallback still reads an invoice line's `price`, which basil replaced
# with `pricing.price_details` (docs.stripe.com/changelog/basil/2025-03-31/invoice-pricing-
# configurations). These start from the acacia fixtures (`*.acacia.json`, see the README there).

ACACIA = "2025-02-24.acacia"


def invoice_line_acacia(line_id: str, *, invoice: str, price: str, product: str, amount: int):
    """A one-off invoice item's line (`type` invoiceitem, a one-time price), quantity 1."""
    return shaped(
        "invoice_line_item.acacia",
        {
            "id": line_id,
            "invoice": invoice,
            "invoice_item": f"ii_{line_id}",
            "amount": amount,
            "amount_excluding_tax": amount,
            "unit_amount_excluding_tax": str(amount),
            "price.id": price,
            "price.product": product,
            "price.unit_amount": amount,
            "price.unit_amount_decimal": str(amount),
        },
    )


def invoice_acacia(
    invoice_id: str,
    *,
    lines: list,
    metadata: dict | None = None,
    customer: str = "cus_test",
    customer_email: str | None = None,
) -> dict:
    """A one-off invoice (`billing_reason` manual), paid in full."""
    total = sum(line["amount"] for line in lines)
    return shaped(
        "invoice.acacia",
        {
            "id": invoice_id,
            "customer": customer,
            "customer_email": customer_email,
            "metadata": metadata or {},
            "amount_due": total,
            "amount_paid": total,
            "amount_remaining": 0,
            "billing_reason": "manual",
            "status": "paid",
            "paid": True,
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "total": total,
            "total_excluding_tax": total,
            "status_transitions.paid_at": now(),
            "lines": listing(lines, f"/v1/invoices/{invoice_id}/lines"),
            "livemode": False,
        },
    )


def signature(body: str, secret: str, timestamp: int | None = None) -> str:
    """`Stripe-Signature` for `body`, made by stripe-python's own signing code."""
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
