"""Location lifecycle changes made by admins (kept apart from services.py, which the
foundation and the GHL integration own)."""

from django.db import transaction

from api.models import ApiClient

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
