"""Outbound webhooks: a location's endpoints, the events Kotally announced, and one delivery
per (endpoint, event) that holds its own retry state."""

from django.db import models
from django.utils import timezone

from kotally.lib.ids import new_evt_id, new_whe_id
from locations.models import Location


class Endpoint(models.Model):
    """A URL of the studio's that receives the event types it chose, signed with its secret
    (Fernet-encrypted at rest: signing needs the plain secret, so it cannot be hashed)."""

    public_id = models.CharField(max_length=40, unique=True, default=new_whe_id, editable=False)
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)
    secret_enc = models.TextField()
    active = models.BooleanField(default=True)
    # First failed attempt since the last success; three days of it disable the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Fan-out: the active endpoints of the location an event happened in.
            models.Index(fields=["location", "active"], name="endpoint_location_idx"),
        ]

    def __str__(self):
        return self.url


class OutboundEvent(models.Model):
    """One announced domain event, stored once per (location, key) whatever the re-runs."""

    public_id = models.CharField(max_length=40, unique=True, default=new_evt_id, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    key = models.CharField(max_length=300)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "key"], name="outbound_event_key_unique")
        ]

    def __str__(self):
        return f"{self.type} {self.public_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class Delivery(models.Model):
    """One event to one endpoint: attempted until a 2xx answer or until `give_up_at`."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="+")
    # The member the event is about: one endpoint gets one member's events in order.
    ordering_key = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; an attempt in flight pushes it one lease ahead.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_unique")
        ]
        indexes = [
            # The retry sweep: pending deliveries whose attempt is due.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            # Ordering: an endpoint's earlier pending deliveries for the same member; and the
            # delivery log, newest first.
            models.Index(fields=["endpoint", "ordering_key", "status"], name="delivery_order_idx"),
        ]

    def __str__(self):
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"
