from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from kotally.lib.ids import new_ws_id


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """Signs in with an email address; `username` is not used."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self):
        return self.email


class BillingStatus(models.TextChoices):
    NONE = "none", "Not started"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    SUSPENDED = "suspended", "Suspended"
    CANCELED = "canceled", "Canceled"


# Service is allowed while trialing, active or past_due (grace). SPEC §6.1.
SERVICE_ALLOWED = {BillingStatus.TRIALING, BillingStatus.ACTIVE, BillingStatus.PAST_DUE}
# Writes are refused with BILLING_SUSPENDED; data is kept.
SUSPENDED = {BillingStatus.SUSPENDED, BillingStatus.CANCELED}


class Workspace(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_ws_id, editable=False)
    name = models.CharField(max_length=120)
    billing_status = models.CharField(
        max_length=16, choices=BillingStatus.choices, default=BillingStatus.NONE
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    # Kotally's own Stripe subscription (billing.services writes them through accounts.services).
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    next_invoice_at = models.DateTimeField(null=True, blank=True)
    cancellation_window_hours = models.PositiveIntegerField(default=24)
    restore_on_cancel = models.BooleanField(default=True)
    # Temporary signup agency reference, replaced by the real GHL company id on first install.
    ghl_company_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name

    @property
    def service_allowed(self) -> bool:
        return self.billing_status in SERVICE_ALLOWED

    @property
    def billing_suspended(self) -> bool:
        return self.billing_status in SUSPENDED


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)
    # None while an invitation waits for the invitee: a pending membership grants nothing.
    accepted_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique")
        ]

    def __str__(self):
        return f"{self.user} @ {self.workspace} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None

    @property
    def can_change(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER
