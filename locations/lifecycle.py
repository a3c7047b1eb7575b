"""Location changes made by admins — removal and the merchant Stripe fallback settings (kept
apart from services.py, which the foundation and the GHL integration own)."""

from django.db import transaction

from api.models import ApiClient
from kotally.lib.crypto import encrypt

from .models import Location, LocationStatus


def location_remove(*, location: Location) -> bool:
    """Mark a location removed: it stops counting for billing and every API or GHL write for it
    is refused with LOCATION_INACTIVE. Its API clients are deactivated so their tokens stop
    working at once. Data is kept. Returns False when it was already removed."""
    with transaction.atomic():
        locked = Location.objects.select_for_update().get(pk=location.pk)
        if locked.status == LocationStatus.REMOVED:
            return False
        locked.status = LocationStatus.REMOVED
        locked.save(update_fields=["status"])
        ApiClient.objects.filter(location=locked, active=True).update(active=False)
    location.status = LocationStatus.REMOVED
    return True


class StripeSecretRequired(ValueError):
    """The merchant Stripe fallback cannot be on without a webhook signing secret."""


KEEP = None  # a secret argument left as KEEP leaves the stored value unchanged


def stripe_fallback_update(
    *,
    location: Location,
    enabled: bool,
    webhook_secret: str | None = KEEP,
    restricted_key: str | None = KEEP,
) -> Location:
    """Set a location's merchant Stripe fallback (SPEC §6.2). Each secret is KEEP (leave the
    stored one), "" (clear it) or a new plain value, stored Fernet-encrypted. Raises
    StripeSecretRequired, changing nothing, when the result would be on without a signing
    secret: the webhook endpoint could not verify a single event."""
    with transaction.atomic():
        locked = Location.objects.select_for_update().get(pk=location.pk)
        if webhook_secret is not KEEP:
            locked.stripe_webhook_secret_enc = encrypt(webhook_secret)
        if restricted_key is not KEEP:
            locked.stripe_restricted_key_enc = encrypt(restricted_key)
        if enabled and not locked.stripe_webhook_secret_enc:
            raise StripeSecretRequired("Turning the Stripe fallback on needs a signing secret.")
        locked.stripe_fallback_enabled = enabled
        locked.save(
            update_fields=[
                "stripe_fallback_enabled", "stripe_webhook_secret_enc", "stripe_restricted_key_enc"
            ]
        )
    return locked
