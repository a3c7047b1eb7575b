"""GHL installations: the OAuth tokens of a location or of an agency (company)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace
from locations.models import Location


class UserType(models.TextChoices):
    LOCATION = "Location", "Location"
    COMPANY = "Company", "Company (agency)"


class Installation(models.Model):
    """OAuth tokens for one location, or for an agency (company) that mints location tokens.

    Tokens are stored Fernet-encrypted (kotally.lib.crypto); refreshes rotate the pair and are
    serialized per row with SELECT ... FOR UPDATE.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user_type = models.CharField(max_length=10, choices=UserType.choices)
    location = models.OneToOneField(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="installation"
    )
    company_id = models.CharField(max_length=255, blank=True)
    ghl_user_id = models.CharField(max_length=255, blank=True)
    scopes = models.TextField(blank=True)
    access_token_enc = models.TextField()
    refresh_token_enc = models.TextField()
    expires_at = models.DateTimeField()
    active = models.BooleanField(default=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # The write-back (integrations_ghl.writeback): opted in on the Locations page; the id of
    # the location's "Kotally credits" contact field once found or created.
    writeback_enabled = models.BooleanField(default=False)
    credits_field_id = models.CharField(max_length=255, blank=True)
    # GHL answered "Location is not active" (paused or canceled sub-account): kept, shown on
    # the Locations page, refreshed again once a day only.
    ghl_inactive_since = models.DateTimeField(null=True, blank=True)
    # The last reconciliation run (integrations_ghl.reconcile) and what it found.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company_id"],
                condition=Q(user_type="Company"),
                name="one_company_installation",
            )
        ]
        indexes = [
            # The refresh sweep: active installations expiring soon.
            models.Index(fields=["active", "expires_at"], name="installation_expiry_idx"),
        ]

    def __str__(self):
        target = self.location.location_id if self.location else self.company_id
        return f"{self.user_type} installation {target}"


class ContactSync(models.Model):
    """What the write-back last wrote to one GHL contact, and whether a sync is scheduled.

    `scheduled_at` is the debounce: the first credit event of a burst sets it and enqueues one
    delayed sync; the sync clears it before reading the balance, so the latest state wins. A
    schedule older than writeback.SCHEDULE_LOST (its task message lost) is renewed."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact_key = models.CharField(max_length=255)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    credits = models.IntegerField(null=True, blank=True)
    tags = models.JSONField(default=list)
    synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "contact_key"], name="contact_sync_unique")
        ]

    def __str__(self):
        return f"{self.contact_key}: {self.credits} {self.tags}"
