"""Every webhook received — GHL, a merchant's Stripe, Kotally's own billing Stripe — stored raw
before processing; the row holds the state (SPEC §1, "Inbound event")."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from entitlements.outcomes import FIXES as ENGINE_FIXES
from entitlements.outcomes import MESSAGES
from locations.models import Location


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
    HELD = "held", "Held"


FINAL = (EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.FAILED)


class EventReason(models.TextChoices):
    """Why an event ended as it did, beyond the engine's own codes (entitlements.outcomes.Reason,
    which events also carry: `deducted`, `INSUFFICIENT_CREDITS`, ...). Success codes are lower
    snake case, refusals UPPER_SNAKE_CASE, as everywhere in Kotally."""

    # any provider
    UNKNOWN_LOCATION = "UNKNOWN_LOCATION", "The event names no location."
    AWAITING_LOCATION = (
        "AWAITING_LOCATION",
        "Held until its location is linked to Kotally; replayed then.",
    )
    HELD_BEHIND = "HELD_BEHIND", "Held behind earlier held events of its location."
    FOREIGN_APP = "FOREIGN_APP", "Sent for another Marketplace app; never acted on."
    UNHANDLED_EVENT_TYPE = "UNHANDLED_EVENT_TYPE", "Kotally does not act on this event type."
    INVALID_PAYLOAD = "INVALID_PAYLOAD", "The payload lacks what its type needs."
    PROCESSING_ERROR = "PROCESSING_ERROR", "Processing failed unexpectedly; support has details."
    NOT_PAID = "NOT_PAID", "Not paid (yet): nothing to grant."
    NO_LINE_ITEMS = "NO_LINE_ITEMS", "The purchase has no line items."
    # contacts and appointments
    CONTACT_SAVED = "contact_saved", "Contact saved."
    APPOINTMENT_RECORDED = "appointment_recorded", "Booking recorded; its status moves no credit."
    APPOINTMENT_UPDATED = "appointment_updated", "Appointment updated."
    STALE_UPDATE = (
        "STALE_UPDATE",
        "Older than the booking state already applied; nothing to change.",
    )
    CALENDAR_NOT_CONFIGURED = (
        "CALENDAR_NOT_CONFIGURED",
        "No product config lists this calendar.",
    )
    RESTORE_ON_CANCEL_OFF = (
        "RESTORE_ON_CANCEL_OFF",
        "Restore on cancel is off in Settings.",
    )
    ALREADY_APPLIED = "already_applied", "Reprocessed: already applied, nothing changed."
    # GHL app install / uninstall
    LOCATION_LINKED = "location_linked", "Location linked."
    ALREADY_LINKED = "already_linked", "Location was already linked."
    COMPANY_INSTALLED = "company_installed", "Agency install recorded."
    LOCATION_DISCONNECTED = "location_disconnected", "Location disconnected."
    COMPANY_DISCONNECTED = "company_disconnected", "Agency locations disconnected."
    ALREADY_DISCONNECTED = "ALREADY_DISCONNECTED", "Location was already disconnected."
    UNKNOWN_COMPANY = "UNKNOWN_COMPANY", "No workspace has installed this agency yet."
    LOCATION_LINKED_ELSEWHERE = (
        "LOCATION_LINKED_ELSEWHERE",
        "The location belongs to another workspace.",
    )
    MISSING_IDS = "MISSING_IDS", "The event names neither a location nor an agency."
    COMPANY_TOKEN_REVOKED = (
        "COMPANY_TOKEN_REVOKED",
        "The agency's GHL token was refused; reconnect GoHighLevel.",
    )
    AWAITING_COMPANY = (
        "AWAITING_COMPANY",
        "Held until the agency's GHL install is finished; replayed then.",
    )
    NOT_INSTALLED = "NOT_INSTALLED", "Kotally is not installed on this GHL location."
    GHL_LOCATION_INACTIVE = (
        "GHL_LOCATION_INACTIVE",
        "GHL says the location is not active (paused or canceled).",
    )
    # refunds and voids
    NOT_GRANTED = "NOT_GRANTED", "The purchase granted nothing: nothing to take back."
    # merchant Stripe
    STRIPE_KEY_MISSING = (
        "STRIPE_KEY_MISSING",
        "Set the restricted key to read Checkout line items.",
    )
    NOTHING_PAID = (
        "NOTHING_PAID",
        "Nothing was paid (a trial, a 100% discount or a credit): no grant.",
    )
    NO_PAYMENT_INTENT = (
        "NO_PAYMENT_INTENT",
        "The charge names no payment intent: no purchase to take back.",
    )
    # Kotally's own billing (Stripe)
    BILLING_UPDATED = "billing_updated", "The workspace's billing follows its subscription."
    NO_SUBSCRIPTION = "NO_SUBSCRIPTION", "The event is about no subscription."
    UNKNOWN_WORKSPACE = "UNKNOWN_WORKSPACE", "No workspace matches this subscription."
    OTHER_SUBSCRIPTION = (
        "OTHER_SUBSCRIPTION",
        "The workspace follows another, live subscription.",
    )
    SUBSCRIPTION_INCOMPLETE = (
        "SUBSCRIPTION_INCOMPLETE",
        "The first payment is not done yet: billing unchanged.",
    )


# What an admin can do about an event's outcome: the engine's hints plus the inbox's own.
FIXES = {
    **ENGINE_FIXES,
    EventReason.UNKNOWN_LOCATION: "Nothing to do: the event is not about one of your locations.",
    EventReason.AWAITING_LOCATION: (
        "Finish connecting this GHL location (Getting Started); the event replays then."
    ),
    EventReason.INVALID_PAYLOAD: (
        "GHL sent something Kotally cannot read; contact support with the event id."
    ),
    EventReason.PROCESSING_ERROR: "Retry; if it fails again, contact support with the error id.",
    EventReason.CALENDAR_NOT_CONFIGURED: (
        "Add this calendar to a product config's calendars, then Reprocess the booking."
    ),
    EventReason.RESTORE_ON_CANCEL_OFF: (
        "Turn on Restore on cancel in Settings, or restore the credit by hand on the member's page."
    ),
    EventReason.COMPANY_TOKEN_REVOKED: "Reconnect GoHighLevel from Getting Started.",
    EventReason.NOT_INSTALLED: "Install Kotally on this location from GoHighLevel.",
    EventReason.GHL_LOCATION_INACTIVE: "Reactivate the location in GoHighLevel.",
    EventReason.STRIPE_KEY_MISSING: (
        "Add the restricted Stripe key in Settings, then Reprocess the payment."
    ),
}
# Events whose reason is a refusal (UPPER_SNAKE_CASE) but whose status is `processed`: the
# engine said no. Never shown as a green "processed".
REFUSED = "refused"
REFUSED_Q = Q(status=EventStatus.PROCESSED, reason_code__regex=r"^[A-Z]")


class InboundEvent(models.Model):
    """Every webhook received, stored raw before processing; the row holds the state."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64, blank=True)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_events"
    )
    location_ref = models.CharField(max_length=255, blank=True)
    # The member the event is about (GHL contact id), read from the payload at intake: the
    # Events page's contact column, search and link to the member.
    contact_ref = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    signature_scheme = models.CharField(max_length=20, blank=True)
    status = models.CharField(
        max_length=12, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    reason_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # What went wrong, in words (shown to every member of the workspace on the Events page).
    last_error = models.TextField(blank=True)
    # The traceback or exception behind it: logs and /staff/ only, never a member's page.
    error_detail = models.TextField(blank=True)
    process_after = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set by *Reprocess* (processing.reprocess): the handler knows the run is a second look.
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="inbound_event_unique")
        ]
        indexes = [
            # The sweeper and the held-event release: events by status and age.
            models.Index(fields=["status", "received_at"], name="inbound_status_idx"),
            # The Events page: a location's events newest first (keyset on received_at, id).
            models.Index(
                F("location"), F("received_at").desc(), F("id").desc(), name="inbound_list_idx"
            ),
            # The Events page filtered by status (failed, held, ...), newest first.
            models.Index(
                F("location"),
                F("status"),
                F("received_at").desc(),
                F("id").desc(),
                name="inbound_status_list_idx",
            ),
            # The Events page filtered by refused (InboundEvent.outcome), newest first.
            models.Index(
                F("location"),
                F("received_at").desc(),
                F("id").desc(),
                name="inbound_refused_list_idx",
                condition=REFUSED_Q,
            ),
            # The Events page searched by contact, newest first.
            models.Index(
                F("location"),
                F("contact_ref"),
                F("received_at").desc(),
                F("id").desc(),
                name="inbound_contact_list_idx",
                condition=~Q(contact_ref=""),
            ),
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_type or '?'}:{self.event_id}"

    @property
    def outcome(self) -> str:
        """The status an admin sees: `refused` for a processed event the engine refused."""
        if self.status == EventStatus.PROCESSED and self.reason_code.isupper():
            return REFUSED
        return self.status

    @property
    def reason(self) -> str:
        """The reason code in words."""
        if self.reason_code in EventReason.values:
            return EventReason(self.reason_code).label
        return MESSAGES.get(self.reason_code, "")

    @property
    def fix(self) -> str:
        return FIXES.get(self.reason_code, "")
