"""GHL installations (OAuth tokens) and every inbound webhook, stored raw before processing."""

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


class Provider(models.TextChoices):
    GHL = "ghl", "GoHighLevel"
    STRIPE_MERCHANT = "stripe_merchant", "Merchant Stripe"
    STRIPE_BILLING = "stripe_billing", "Kotally billing Stripe"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"
    HELD = "held", "Held (billing suspended)"


class InboundEvent(models.Model):
    """Every webhook received, stored raw before processing; the row holds the state."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64, blank=True)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_events"
    )
    location_ref = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    signature_scheme = models.CharField(max_length=20, blank=True)
    status = models.CharField(
        max_length=12, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    reason_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    process_after = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="inbound_event_unique")
        ]
        indexes = [
            # The sweeper and the held-event release: events by status and age.
            models.Index(fields=["status", "received_at"], name="inbound_status_idx"),
            # The Events page: a location's events newest first.
            models.Index(fields=["location", "-received_at"], name="inbound_location_idx"),
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_type or '?'}:{self.event_id}"
