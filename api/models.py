import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from locations.models import Location


class Scope(models.TextChoices):
    GRANT = "grant", "grant — POST /grants"
    CHECK = "check", "check — POST /entitlements/check-eligibility"
    DEDUCT = "deduct", "deduct — POST /entitlements/deduct"
    RESTORE = "restore", "restore — POST /entitlements/restore"
    SUMMARY = "summary", "summary — GET /contacts/..."


class ApiClient(models.Model):
    """A machine credential for one location. The secret is stored only as a SHA-256 hash."""

    client_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="api_clients")
    name = models.CharField(max_length=120)
    scopes = models.JSONField(default=list)
    secret_hash = models.CharField(max_length=64)
    # After a rotation with a grace period, the old secret keeps working until then.
    previous_secret_hash = models.CharField(max_length=64, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limited_count = models.PositiveIntegerField(default=0)
    last_rate_limited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.location.location_id})"


class ApiRequest(models.Model):
    """One authenticated call to /api/v2, for the request log on the API Clients page (Stripe's
    request logs): what was asked, what was answered and why. Written after the answer, kept
    IDEMPOTENCY_RETENTION_DAYS like the idempotency records (api.tasks.purge_api_requests)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="requests")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField()
    ok = models.BooleanField()  # the answer's `ok`: a 200 refusal is not ok
    reason_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=255, blank=True)
    contact_key = models.CharField(max_length=255, blank=True)
    latency_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The request log of a location, newest first (keyset on created_at, id).
            models.Index(
                F("location"), F("created_at").desc(), F("id").desc(), name="apirequest_list_idx"
            ),
            # Retention purge by age.
            models.Index(fields=["created_at"], name="apirequest_age_idx"),
        ]

    def __str__(self):
        return f"{self.method} {self.path} → {self.status}"
