"""Reason codes and the value every engine service returns.

Success codes are lower snake case, refusals UPPER_SNAKE_CASE (SPEC §3.1).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import models


class Reason(models.TextChoices):
    # successes
    GRANT_APPLIED = "grant_applied"
    ELIGIBLE = "eligible"
    DEDUCTED = "deducted"
    RESTORED = "restored"
    REFUND_APPLIED = "refund_applied"
    # refusals, in the precedence order of SPEC §2.3
    BILLING_SUSPENDED = "BILLING_SUSPENDED"
    LOCATION_INACTIVE = "LOCATION_INACTIVE"
    CONFIG_NOT_FOUND = "CONFIG_NOT_FOUND"
    NO_ENTITLEMENT = "NO_ENTITLEMENT"
    SERVICE_FAMILY_MISMATCH = "SERVICE_FAMILY_MISMATCH"
    ENTITLEMENT_PAUSED = "ENTITLEMENT_PAUSED"
    ENTITLEMENT_EXPIRED = "ENTITLEMENT_EXPIRED"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    # restore and grant refusals
    CANCELLATION_WINDOW_EXPIRED = "CANCELLATION_WINDOW_EXPIRED"
    NOTHING_TO_RESTORE = "NOTHING_TO_RESTORE"
    DUPLICATE_EVENT = "DUPLICATE_EVENT"
    # refunds, voids and disputes
    PAYMENT_NOT_GRANTED = "PAYMENT_NOT_GRANTED"


# SPEC §2.3: the refusals of check, deduct and a GHL booking, in precedence order.
PRECEDENCE = (
    Reason.BILLING_SUSPENDED,
    Reason.LOCATION_INACTIVE,
    Reason.CONFIG_NOT_FOUND,
    Reason.NO_ENTITLEMENT,
    Reason.SERVICE_FAMILY_MISMATCH,
    Reason.ENTITLEMENT_PAUSED,
    Reason.ENTITLEMENT_EXPIRED,
    Reason.INSUFFICIENT_CREDITS,
)

MESSAGES = {
    Reason.BILLING_SUSPENDED: (
        "The workspace's billing is suspended; data is kept, writes are refused."
    ),
    Reason.LOCATION_INACTIVE: (
        "The location is not active (pending billing, disconnected or removed)."
    ),
    Reason.CONFIG_NOT_FOUND: "No active product config with that id in this location.",
    Reason.NO_ENTITLEMENT: "The contact holds no credits in this location.",
    Reason.SERVICE_FAMILY_MISMATCH: "The contact's credits do not cover this calendar or config.",
    Reason.ENTITLEMENT_PAUSED: "The matching credits are paused.",
    Reason.ENTITLEMENT_EXPIRED: "The matching credits have expired.",
    Reason.INSUFFICIENT_CREDITS: "No single lot holds enough credits for this amount.",
    Reason.CANCELLATION_WINDOW_EXPIRED: "The booking is inside the cancellation window.",
    Reason.NOTHING_TO_RESTORE: "There is nothing left to give back for this booking.",
    Reason.DUPLICATE_EVENT: "This payment was already granted.",
    Reason.PAYMENT_NOT_GRANTED: "No credits were granted for this payment: nothing to take back.",
}

# What an admin can do about each refusal (the Events page, the member's timeline, the home
# dashboard). inbox.models.FIXES adds the inbox's own codes to these.
FIXES = {
    Reason.BILLING_SUSPENDED: "Update the payment method on Billing; held bookings then replay.",
    Reason.LOCATION_INACTIVE: (
        "Activate the location: start billing, or reconnect GoHighLevel on Locations."
    ),
    Reason.CONFIG_NOT_FOUND: (
        "Check the product config id the booking app sends, or re-create the removed config "
        "under Product configs."
    ),
    Reason.NO_ENTITLEMENT: (
        "The member has never bought credits here: grant credits on their page (comp), or have "
        "them buy a pack; then Reprocess the booking (GHL) or send the call again (API)."
    ),
    Reason.SERVICE_FAMILY_MISMATCH: (
        "Add this calendar to the calendars of the member's product config, or grant credits "
        "of a config that covers it; then Reprocess (GHL) or send the call again (API)."
    ),
    Reason.ENTITLEMENT_PAUSED: (
        "Resume the member's paused lot on their page, then Reprocess (GHL) or send the call "
        "again (API)."
    ),
    Reason.ENTITLEMENT_EXPIRED: (
        "The member's credits expired: grant new credits (or sell a new pack), then Reprocess "
        "(GHL) or send the call again (API)."
    ),
    Reason.INSUFFICIENT_CREDITS: (
        "The member needs more credits: grant some on their page or sell a pack, then "
        "Reprocess (GHL) or send the call again (API)."
    ),
    Reason.CANCELLATION_WINDOW_EXPIRED: (
        "Cancelled too late to get the credit back. To give it back anyway, restore it by hand "
        "on the member's page."
    ),
    Reason.NOTHING_TO_RESTORE: "Nothing to do: this booking holds no credit.",
    Reason.DUPLICATE_EVENT: "Nothing to do: it was already applied once.",
    Reason.PAYMENT_NOT_GRANTED: "Nothing to do: the purchase never granted credits.",
}


@dataclass(frozen=True)
class Outcome:
    """What a service did, or why it refused. Refusals are values, never exceptions."""

    ok: bool
    reason_code: str
    entitlement_id: str | None = None
    balance_after: int | None = None
    balance: int | None = None
    contact_id: str | None = None
    credits_granted: int | None = None
    credits_changed: int | None = None
    credits_used: int | None = None  # a refund: credits of the purchase already spent
    expires_at: datetime | None = None

    @property
    def message(self) -> str | None:
        return None if self.ok else MESSAGES.get(self.reason_code)


class BillingSuspended(Exception):
    """Billing got suspended while a multi-step write was under way: the caller rolls the
    whole write back and holds the work for later (SPEC §5.3, held events)."""


def refuse(reason: str, **fields) -> Outcome:
    return Outcome(ok=False, reason_code=reason, **fields)
