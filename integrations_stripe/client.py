"""Every call to a merchant's own Stripe account (SPEC §6.2), with the location's restricted
key, at the pinned API version (kotally.lib.stripe_api). Checkout line items and invoice
payments are read here: neither is part of the event."""

import stripe

from kotally.lib.stripe_api import StripeUnavailable, client, transient


def _reading(call):
    try:
        return call()
    except stripe.StripeError as exc:
        if transient(exc):
            raise StripeUnavailable(str(exc)) from exc
        raise


def checkout_line_items(*, api_key: str, session_id: str) -> list[dict]:
    """A Checkout Session's line items, every page.
    https://docs.stripe.com/api/checkout/sessions/line_items"""
    lines = client(api_key).v1.checkout.sessions.line_items
    return _reading(
        lambda: [
            item.to_dict()
            for item in lines.list(session_id, params={"limit": 100}).auto_paging_iter()
        ]
    )


def invoice_payment_intent(*, api_key: str, invoice_id: str) -> str:
    """The payment intent that paid an invoice ("" when none did). Since API version
    2025-03-31.basil the invoice has no `payment_intent`; its payments are listed apart.
    https://docs.stripe.com/api/invoice-payment/list"""
    payments = client(api_key).v1.invoice_payments
    page = _reading(lambda: payments.list(params={"invoice": invoice_id, "status": "paid"}))
    for payment in page.data:
        intent = (payment.to_dict().get("payment") or {}).get("payment_intent")
        if intent:
            return str(intent)
    return ""
