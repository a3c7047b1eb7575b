"""Credit domain: product configs, contacts, lots, the append-only ledger, payments, bookings."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from kotally.lib.ids import new_apt_id, new_ent_id, new_led_id, new_pay_id, new_pc_id
from locations.models import Location


class ConfigKind(models.TextChoices):
    PACKAGE = "package", "Package"
    MEMBERSHIP = "membership", "Membership"


class RenewalPolicy(models.TextChoices):
    ACCUMULATE = "accumulate", "Accumulate unused credits"
    RESET = "reset", "Reset: forfeit unused credits at renewal"


class ProductConfig(models.Model):
    """The credit rule for one sellable offer in one location (a.k.a. product mapping)."""

    public_id = models.CharField(max_length=40, unique=True, default=new_pc_id, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="product_configs")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=12, choices=ConfigKind.choices)
    credits_total = models.PositiveIntegerField(null=True, blank=True)
    monthly_credits = models.PositiveIntegerField(null=True, blank=True)
    expiry_days = models.PositiveIntegerField(null=True, blank=True)
    # The service family: calendar ids whose bookings may consume this config's credits.
    calendar_ids = models.JSONField(default=list, blank=True)
    ghl_product_id = models.CharField(max_length=255, blank=True)
    ghl_price_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    stripe_product_id = models.CharField(max_length=255, blank=True)
    priority = models.IntegerField(default=100)
    # credits.low is announced when a deduct leaves this many credits or fewer (null: off).
    low_credits_threshold = models.PositiveIntegerField(null=True, blank=True)
    renewal_policy = models.CharField(
        max_length=12, choices=RenewalPolicy.choices, default=RenewalPolicy.ACCUMULATE
    )
    active = models.BooleanField(default=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One active mapping per GHL product (and price) in a location. A config without a
            # price id and one with a price id for the same product can coexist; an invoice
            # item matching both is then recorded as `ambiguous` (SPEC §5.3).
            models.UniqueConstraint(
                fields=["location", "ghl_product_id", "ghl_price_id"],
                condition=Q(active=True) & ~Q(ghl_product_id=""),
                name="one_active_config_per_ghl_product",
            ),
            models.CheckConstraint(
                condition=(Q(kind="package") & Q(credits_total__gte=1))
                | (Q(kind="membership") & Q(monthly_credits__gte=1)),
                name="config_credits_match_kind",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def credits_per_grant(self) -> int:
        return self.credits_total if self.kind == ConfigKind.PACKAGE else self.monthly_credits

    def covers_calendar(self, calendar_id: str) -> bool:
        return calendar_id in (self.calendar_ids or [])


class Contact(models.Model):
    """A member of a location, keyed by one external id (GHL contact id or any neutral id)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(max_length=255)
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=255, blank=True)
    # Kept by the engine in the transaction of every credit movement, pause and resume (see
    # services._keep_balance): the usable credits and the soonest expiry among lots still
    # holding usable credits. They feed the admin list's balance column and filters.
    credits_available = models.IntegerField(default=0, db_default=0)
    credits_expire_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "external_id"], name="contact_key_unique")
        ]
        # PostgreSQL also has the search indexes of migration 0006: external id prefix
        # (varchar_pattern_ops), email prefix (upper, text_pattern_ops) and name / email
        # substring (pg_trgm GIN) — see selectors.contacts_window.
        indexes = [
            # Admin contact search by email within a location.
            models.Index(fields=["location", "email"], name="contact_email_idx"),
            # Contacts list, newest first, per location (selectors.contacts_window).
            models.Index(
                F("location"), F("created_at").desc(), F("id").desc(), name="contact_list_idx"
            ),
            # Contacts list filters "no credits" (balance = 0, newest first) and "low balance"
            # (balance 1..LOW_BALANCE, lowest first).
            models.Index(
                fields=["location", "credits_available", "created_at", "id"],
                name="contact_balance_idx",
            ),
            # Contacts list filter "expiring soon": soonest expiry first.
            models.Index(
                fields=["location", "credits_expire_at", "id"],
                condition=Q(credits_expire_at__isnull=False),
                name="contact_expiry_idx",
            ),
        ]

    def __str__(self):
        return self.name or self.email or self.external_id


class LotStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Entitlement(models.Model):
    """One grant of credits (a lot) to one contact under one product config."""

    # Unique through Meta's constraint: `unique=True` would add a LIKE (pattern-ops) twin index
    # on PostgreSQL that no query uses and every insert maintains (docs/scaling.md §3).
    public_id = models.CharField(max_length=40, default=new_ent_id, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="entitlements")
    product_config = models.ForeignKey(
        ProductConfig, on_delete=models.PROTECT, related_name="entitlements"
    )
    credits_granted = models.PositiveIntegerField()
    credits_remaining = models.IntegerField()
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=LotStatus.choices, default=LotStatus.ACTIVE)
    paused_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(
        "PaymentEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    value_cents = models.PositiveIntegerField(null=True, blank=True)
    # When credits.expiring was announced for this lot (once per lot).
    expiry_announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="lot_public_id_unique"),
            models.CheckConstraint(
                condition=Q(credits_remaining__gte=0), name="lot_remaining_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(credits_remaining__lte=F("credits_granted")),
                name="lot_remaining_within_granted",
            ),
        ]
        indexes = [
            # The expiry sweep: active lots whose expires_at has passed.
            models.Index(fields=["status", "expires_at"], name="lot_expiry_idx"),
        ]

    def __str__(self):
        return f"{self.public_id} ({self.credits_remaining}/{self.credits_granted})"

    def usable_at(self, now) -> bool:
        return (
            self.status == LotStatus.ACTIVE
            and (self.expires_at is None or self.expires_at > now)
            and self.product_config.active
        )

    @staticmethod
    def usable_q(now) -> Q:
        """usable_at as a query condition, for sums the database does."""
        return Q(status=LotStatus.ACTIVE, product_config__active=True) & (
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )

    def expired_at(self, now) -> bool:
        """Expired by status, or by date (a paused lot's clock is stopped, see SPEC §2.5)."""
        if self.status == LotStatus.EXPIRED:
            return True
        return (
            self.status == LotStatus.ACTIVE
            and self.expires_at is not None
            and (self.expires_at <= now)
        )


class LedgerKind(models.TextChoices):
    GRANT = "grant", "Grant"
    DEDUCT = "deduct", "Deduct"
    RESTORE = "restore", "Restore"
    EXPIRE = "expire", "Expire"
    FORFEIT = "forfeit", "Forfeit"
    REVOKE = "revoke", "Revoke"
    ADJUST = "adjust", "Adjust"


class Source(models.TextChoices):
    API = "api", "API"
    GHL = "ghl", "GoHighLevel"
    STRIPE = "stripe", "Stripe"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("the ledger is append-only")

    def delete(self):
        raise TypeError("the ledger is append-only")


class LedgerEntry(models.Model):
    """Append-only record of every credit movement. Corrections are new entries."""

    # Unique through Meta's constraint: `unique=True` would add a LIKE (pattern-ops) twin index
    # on PostgreSQL that no query uses and every insert maintains (docs/scaling.md §3).
    public_id = models.CharField(max_length=40, default=new_led_id, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="ledger")
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = models.IntegerField()
    balance_after = models.IntegerField(help_text="the entitlement's remaining credits after")
    contact_balance_after = models.IntegerField(help_text="the contact's available credits after")
    source = models.CharField(max_length=10, choices=Source.choices)
    request_id = models.CharField(max_length=255, blank=True)
    external_ref = models.CharField(max_length=255, blank=True)
    appointment = models.ForeignKey(
        "Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger"
    )
    correlation_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="ledger_public_id_unique")
        ]
        indexes = [
            # Contact ledger reads, newest first (keyset on id).
            models.Index(fields=["contact", "-id"], name="ledger_contact_idx"),
            # Contact timeline (selectors.timeline_page): entries newest first by created_at,
            # without sorting a long-standing member's whole history.
            models.Index(fields=["contact", "created_at", "id"], name="ledger_contact_time_idx"),
            # Restore target: the deductions recorded for one booking reference.
            models.Index(fields=["contact", "external_ref"], name="ledger_ref_idx"),
            # Home dashboard: a location's credits granted and used per week, recent weeks.
            models.Index(fields=["location", "created_at"], name="ledger_location_time_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount:+d} on {self.entitlement_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("the ledger is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("the ledger is append-only")


class PaymentOutcome(models.TextChoices):
    GRANTED = "granted", "Granted"
    UNMATCHED = "unmatched", "Unmatched"
    AMBIGUOUS = "ambiguous", "Ambiguous"
    DUPLICATE = "duplicate", "Duplicate"
    HELD = "held", "Held"
    REFUNDED = "refunded", "Refunded"


class PaymentEvent(models.Model):
    """A purchase seen by Kotally. The unique key makes one payment grant at most once."""

    # Unique through Meta's constraint: `unique=True` would add a LIKE (pattern-ops) twin index
    # on PostgreSQL that no query uses and every insert maintains (docs/scaling.md §3).
    public_id = models.CharField(max_length=40, default=new_pay_id, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="payments")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="payments"
    )
    provider = models.CharField(max_length=40)
    external_payment_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64, default="payment_confirmed")
    amount_cents = models.PositiveBigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    paid_at = models.DateTimeField(default=timezone.now)
    product_config = models.ForeignKey(
        ProductConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entitlement = models.ForeignKey(
        Entitlement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=PaymentOutcome.choices)
    explanation = models.CharField(max_length=500, blank=True)
    external_product_ref = models.CharField(max_length=255, blank=True)
    external_ref = models.CharField(max_length=255, blank=True)
    is_test = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="payment_public_id_unique"),
            models.UniqueConstraint(
                fields=["location", "provider", "external_payment_id"], name="payment_key_unique"
            ),
        ]
        indexes = [
            # Contact payment reads, newest first.
            models.Index(fields=["contact", "-id"], name="payment_contact_idx"),
            # Events page, "Payments that granted nothing": a location's newest few.
            models.Index(
                fields=["location", "-created_at"],
                condition=Q(outcome__in=["unmatched", "ambiguous"]),
                name="payment_attention_idx",
            ),
        ]

    def __str__(self):
        return f"{self.provider}:{self.external_payment_id} ({self.outcome})"


class AppointmentStatus(models.TextChoices):
    """`booked` is an API booking (a deduct with an `external_ref`); the others are GHL's
    `appointmentStatus` values (apps/calendars.json of GHL's docs: AppointmentSchemaResponse
    lists new, confirmed, cancelled, showed, noshow, invalid, active, completed)."""

    BOOKED = "booked", "Booked"
    NEW = "new", "New"
    CONFIRMED = "confirmed", "Confirmed"
    ACTIVE = "active", "Active"
    SHOWED = "showed", "Showed"
    COMPLETED = "completed", "Completed"
    NOSHOW = "noshow", "No-show"
    CANCELLED = "cancelled", "Cancelled"
    INVALID = "invalid", "Invalid"


class Appointment(models.Model):
    """A booking seen by Kotally (GHL event or API deduct with external_ref)."""

    public_id = models.CharField(max_length=40, unique=True, default=new_apt_id, editable=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="appointments")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="appointments")
    external_id = models.CharField(max_length=255)
    calendar_id = models.CharField(max_length=255, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    credits_deducted = models.IntegerField(default=0)
    entitlement = models.ForeignKey(
        Entitlement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept by the integration that reports the booking (GHL): the source's last-update time
    # of the state applied (older reports are stale), how many times a confirmation tried to
    # deduct (each has its own request id), and whether the source deleted the booking.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    confirmations = models.PositiveIntegerField(default=0)
    source_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "external_id"], name="appointment_key_unique"
            )
        ]
        indexes = [
            # Upcoming / past lists per contact, by start time.
            models.Index(fields=["contact", "start_time"], name="appointment_contact_idx"),
        ]

    def __str__(self):
        return f"{self.external_id} ({self.status})"


class ContactActivity(models.Model):
    """What Kotally told the outside world about a member (outbound webhooks, the GoHighLevel
    write-back), shown on the contact's timeline. Written through
    services.contact_activity_record by the apps that do the telling."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activity")
    message = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The contact timeline, newest first.
            models.Index(fields=["contact", "-created_at"], name="activity_contact_idx"),
        ]

    def __str__(self):
        return self.message


class IdempotencyRecord(models.Model):
    """The stored result of one request_id in one location (SPEC §3.3).

    Lives beside the engine, not in `api`, because GHL booking handlers use the same
    request-id guarantee (`ghl:appt:<id>:deduct`).
    """

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=255)
    operation = models.CharField(max_length=20)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "request_id"], name="request_id_unique")
        ]
        indexes = [
            # Retention purge by age.
            models.Index(fields=["created_at"], name="idempotency_age_idx"),
        ]

    def __str__(self):
        return f"{self.request_id} ({self.operation})"


class Refusal(models.Model):
    """An operation the engine refused for a member — a GHL booking, an API check, deduct or
    restore — kept so an admin can answer "why didn't it deduct?" from the member's page
    (written through services.refusal_record; purged with the idempotency records). Purchases
    that granted nothing are PaymentEvents (outcome unmatched/ambiguous), not refusals."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="refusals")
    source = models.CharField(max_length=10, choices=Source.choices)
    operation = models.CharField(max_length=20)  # check, deduct, restore
    reason_code = models.CharField(max_length=64)
    request_id = models.CharField(max_length=255, blank=True)
    external_ref = models.CharField(max_length=255, blank=True)
    calendar_id = models.CharField(max_length=255, blank=True)
    # The inbound event behind a GHL booking's refusal (the inbox sits above the engine: a
    # plain id, not a key), for the link to the event and its Reprocess button.
    inbound_event_pk = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The contact timeline, newest first.
            models.Index(
                F("contact"), F("created_at").desc(), F("id").desc(), name="refusal_contact_idx"
            ),
            # Retention purge by age.
            models.Index(fields=["created_at"], name="refusal_age_idx"),
        ]

    def __str__(self):
        return f"{self.operation} refused: {self.reason_code}"
