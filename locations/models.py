from django.db import models
from django.utils import timezone

from accounts.models import Workspace


class LocationKind(models.TextChoices):
    GHL = "ghl", "GoHighLevel"
    API = "api", "API"


class LocationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    DISCONNECTED = "disconnected", "Disconnected"
    REMOVED = "removed", "Removed"


# The locations a workspace pays for: active ones, and pending ones (they go active the moment
# billing starts). SPEC §6.1: the first is in the base price, each other one is additional.
BILLED = (LocationStatus.ACTIVE, LocationStatus.PENDING)


class LocationQuerySet(models.QuerySet):
    def live(self):
        """Every location but removed ones (usable through `workspace.locations.live()`, so
        lower apps need not know the status values)."""
        return self.exclude(status=LocationStatus.REMOVED)


class Location(models.Model):
    """The billable unit. `location_id` is the GHL locationId or `loc_<random>` for API ones.

    Rows and their status are written by `locations.services` only."""

    location_id = models.CharField(max_length=255, unique=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="locations")
    kind = models.CharField(max_length=8, choices=LocationKind.choices)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=LocationStatus.choices, default=LocationStatus.PENDING
    )
    # Overrides the workspace's cancellation window when set.
    cancellation_window_hours = models.PositiveIntegerField(null=True, blank=True)
    # Merchant Stripe fallback (SPEC §6.2); secrets are Fernet-encrypted (kotally.lib.crypto).
    stripe_fallback_enabled = models.BooleanField(default=False)
    stripe_webhook_secret_enc = models.TextField(blank=True)
    stripe_restricted_key_enc = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = LocationQuerySet.as_manager()

    def __str__(self):
        return self.name or self.location_id

    @property
    def effective_cancellation_window_hours(self) -> int:
        if self.cancellation_window_hours is not None:
            return self.cancellation_window_hours
        return self.workspace.cancellation_window_hours

    @property
    def status_reason(self) -> str:
        """Why the location is in its status, for the Locations page."""
        if self.status == LocationStatus.PENDING:
            return "pending: billing not active"
        if self.status == LocationStatus.DISCONNECTED:
            return "disconnected: GHL app uninstalled or tokens revoked"
        if self.status == LocationStatus.REMOVED:
            return "removed by an admin"
        return "active"
