"""`POST /webhooks/stripe/<location id>`: a location's own Stripe account reports purchases
that GHL may not (SPEC §6.2). Verify with stripe-python → the inbox's one intake pattern.

GHL-native grants win: events are processed only after MERCHANT_STRIPE_DELAY_SECONDS (and then
recorded as `duplicate` when a GHL grant already covers the purchase, entitlements.purchases).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from inbox.intake import answer, store_event
from inbox.models import Provider
from kotally.lib.stripe_api import InvalidWebhook, event_key, webhook_payload
from locations.models import Location

from .secrets import location_secret

logger = logging.getLogger("kotally.webhooks")


@csrf_exempt
def merchant_stripe_webhook(request, location_id: str):
    if request.method != "POST":
        return answer(405, "METHOD_NOT_ALLOWED", "POST only.")
    location = Location.objects.filter(
        location_id=location_id, stripe_fallback_enabled=True
    ).first()
    secret = location_secret(location, "stripe_webhook_secret_enc")
    if not secret:
        return answer(404, "NOT_CONFIGURED", "No merchant Stripe fallback for this location.")
    try:
        payload = webhook_payload(request.body, request.headers.get("Stripe-Signature", ""), secret)
        # One Stripe account may feed several locations: the same evt_ id is a distinct
        # delivery per location.
        event_id = event_key(payload, prefix=f"{location.location_id}:")
    except InvalidWebhook as exc:
        return answer(400, exc.reason_code, str(exc))
    try:
        _, created = store_event(
            provider=Provider.STRIPE_MERCHANT,
            event_id=event_id,
            event_type=str(payload.get("type") or ""),
            location_ref=location.location_id,
            payload=payload,
            signature_scheme="stripe",
            process_after=timezone.now()
            + timedelta(seconds=settings.MERCHANT_STRIPE_DELAY_SECONDS),
        )
    except DatabaseError:
        logger.exception("could not store merchant Stripe event for %s", location_id)
        return answer(503, "TRY_AGAIN", "The event could not be stored; Stripe will retry.")
    return answer(200, "received" if created else "duplicate")
