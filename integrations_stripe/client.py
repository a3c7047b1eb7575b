"""Every call to a merchant's own Stripe account (SPEC §6.2). Only Checkout line items are
read: they are not part of the event."""

import stripe

TIMEOUT_SECONDS = 20


class StripeUnavailable(Exception):
    """Stripe could not be reached or rate-limited us: the inbox retries with backoff."""

    retryable = True


def checkout_line_items(*, api_key: str, session_id: str) -> list[dict]:
    """A Checkout Session's line items, every page.
    https://docs.stripe.com/api/checkout/sessions/line_items"""
    client = stripe.StripeClient(
        api_key=api_key, http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS)
    )
    try:
        page = client.v1.checkout.sessions.line_items.list(session_id, params={"limit": 100})
        return [item.to_dict() for item in page.auto_paging_iter()]
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(str(exc)) from exc
