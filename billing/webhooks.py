"""`POST /webhooks/stripe/billing`: Kotally's own Stripe account reports its subscriptions
(SPEC §6.1). Verify with stripe-python → the inbox's one intake pattern (store once, answer,
process in Celery: billing.handlers)."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.views.decorators.csrf import csrf_exempt

from inbox.intake import answer, store_event
from inbox.models import Provider
from kotally.lib.stripe_api import InvalidWebhook, event_key, webhook_payload

logger = logging.getLogger("kotally.webhooks")


@csrf_exempt
def billing_stripe_webhook(request):
    if request.method != "POST":
        return answer(405, "METHOD_NOT_ALLOWED", "POST only.")
    secret = settings.STRIPE_BILLING_WEBHOOK_SECRET
    if not secret:
        return answer(404, "NOT_CONFIGURED", "Stripe billing is not configured on this server.")
    try:
        payload = webhook_payload(request.body, request.headers.get("Stripe-Signature", ""), secret)
        event_id = event_key(payload)
    except InvalidWebhook as exc:
        return answer(400, exc.reason_code, str(exc))
    try:
        _, created = store_event(
            provider=Provider.STRIPE_BILLING,
            event_id=event_id,
            event_type=str(payload.get("type") or ""),
            location_ref="",
            payload=payload,
            signature_scheme="stripe",
        )
    except DatabaseError:
        logger.exception("could not store a Stripe billing event")
        # Any answer but 2xx makes Stripe retry (for up to three days).
        return answer(503, "TRY_AGAIN", "The event could not be stored; Stripe will retry.")
    return answer(200, "received" if created else "duplicate")
