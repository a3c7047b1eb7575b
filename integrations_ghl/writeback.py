"""The GoHighLevel write-back: each member's credits, visible to GHL workflows.

Per GHL location, opted in on the Locations page: a contact custom field "Kotally credits"
(a number, created through the API when the location has none) holds the member's available
credits, and three tags follow the state — `kotally-low-credits` (a config with a low
threshold is at or below it), `kotally-no-credits` (nothing left), `kotally-expiring-soon`
(credits expiring within CREDITS_EXPIRING_DAYS).

`on_event` listens to the engine's domain events (entitlements.events, after commit). The
first event of a burst schedules one sync GHL_WRITEBACK_DEBOUNCE_SECONDS later; the sync
reads the balance when it runs (the latest state wins) and writes only what differs from
what it last wrote, so a re-run writes nothing. Calls go through client.py (rate limit,
429 backoff); the task retries what is left.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from entitlements import events
from entitlements.models import Contact, Entitlement, LotStatus
from entitlements.services import contact_activity_record
from kotally.lib import epoch

from . import client, installations
from .models import ContactSync, Installation

FIELD_NAME = "Kotally credits"
FIELD_TYPE = "NUMERICAL"
TAG_LOW = "kotally-low-credits"
TAG_NONE = "kotally-no-credits"
TAG_EXPIRING = "kotally-expiring-soon"
TAGS = (TAG_LOW, TAG_NONE, TAG_EXPIRING)
# Granting these on top of the read-only install scopes (settings.GHL_SCOPES) lets a
# location opt in; installs from before need to reconnect.
SCOPES = ("contacts.write", "locations/customFields.readonly", "locations/customFields.write")
# A scheduled sync that has not started this long after it was due lost its task message.
SCHEDULE_LOST = timedelta(minutes=15)
_BALANCE_EVENTS = {
    events.CREDITS_GRANTED,
    events.CREDITS_DEDUCTED,
    events.CREDITS_RESTORED,
    events.CREDITS_REVOKED,
    events.CREDITS_EXPIRED,
    events.CREDITS_EXPIRING,
}


class ScopesMissing(Exception):
    """The installation was granted without the write-back scopes: reconnect first."""


def missing_scopes(installation: Installation) -> list[str]:
    granted = set(installation.scopes.split())
    return [scope for scope in SCOPES if scope not in granted]


def writeback_set(*, installation: Installation, enabled: bool) -> None:
    """Opt a GHL location in or out. Raises ScopesMissing when opting in without them."""
    if enabled and missing_scopes(installation):
        raise ScopesMissing(", ".join(missing_scopes(installation)))
    epoch.changing()  # which locations listen (INTEREST_READS)
    Installation.objects.filter(pk=installation.pk).update(writeback_enabled=enabled)
    epoch.changed()


# --- scheduling -------------------------------------------------------------------------------


# on_event's interest (entitlements.events.subscribe): the location writes balances back.
INTEREST = (
    f"EXISTS (SELECT 1 FROM {Installation._meta.db_table} "
    "WHERE location_id = %s AND active AND writeback_enabled)"
)
INTEREST_READS = {Installation: {"location", "location_id", "active", "writeback_enabled"}}


def on_event(event: events.DomainEvent) -> None:
    """Schedule one delayed sync for the member, unless one is already scheduled. Called only
    for a location that writes back (INTEREST)."""
    if event.type not in _BALANCE_EVENTS or event.contact_pk is None:
        return
    contact_key = Contact.objects.values_list("external_id", flat=True).get(pk=event.contact_pk)
    sync, _ = ContactSync.objects.get_or_create(
        location_id=event.location_pk, contact_key=contact_key
    )
    now = timezone.now()
    lost = now - timedelta(seconds=settings.GHL_WRITEBACK_DEBOUNCE_SECONDS) - SCHEDULE_LOST
    if ContactSync.objects.filter(
        Q(scheduled_at=None) | Q(scheduled_at__lt=lost), pk=sync.pk
    ).update(scheduled_at=now):
        from .writeback_tasks import sync_contact

        transaction.on_commit(
            lambda: sync_contact.apply_async(
                (sync.pk,), countdown=settings.GHL_WRITEBACK_DEBOUNCE_SECONDS
            )
        )


# --- the sync ---------------------------------------------------------------------------------


def desired(contact: Contact | None, now: datetime) -> tuple[int, set[str]]:
    """(available credits, Kotally tags the contact should carry) right now."""
    lots = (
        []
        if contact is None
        else [
            lot
            for lot in Entitlement.objects.select_related("product_config").filter(
                contact=contact, status=LotStatus.ACTIVE, credits_remaining__gt=0
            )
            if lot.usable_at(now)
        ]
    )
    per_config: dict = {}
    for lot in lots:
        per_config[lot.product_config] = (
            per_config.get(lot.product_config, 0) + lot.credits_remaining
        )
    credits = sum(per_config.values())
    tags = set()
    if any(
        config.low_credits_threshold is not None and balance <= config.low_credits_threshold
        for config, balance in per_config.items()
    ):
        tags.add(TAG_LOW)
    if credits == 0:
        tags.add(TAG_NONE)
    soon = now + timedelta(days=settings.CREDITS_EXPIRING_DAYS)
    if any(lot.expires_at is not None and lot.expires_at <= soon for lot in lots):
        tags.add(TAG_EXPIRING)
    return credits, tags


def _credits_field(auth, installation: Installation) -> str:
    """The location's "Kotally credits" field id: stored, else found by name, else created
    (one creator per location at a time, so two first syncs do not make two fields)."""
    if installation.credits_field_id:
        return installation.credits_field_id
    lock = f"ghl:writeback:field:{installation.pk}"
    if not cache.add(lock, 1, timeout=60):
        raise client.GhlError("another sync is creating the credits field", retryable=True)
    try:
        found = next(
            (
                field["id"]
                for field in client.list_custom_fields(auth)
                if str(field.get("name", "")).strip().lower() == FIELD_NAME.lower()
            ),
            None,
        )
        field_id = (
            found or client.create_custom_field(auth, name=FIELD_NAME, data_type=FIELD_TYPE)["id"]
        )
        Installation.objects.filter(pk=installation.pk).update(credits_field_id=field_id)
    finally:
        cache.delete(lock)
    return field_id


def sync(*, sync_pk: int, now: datetime | None = None) -> list[str]:
    """Bring one GHL contact's field and tags to the member's current state; returns what
    changed (empty when nothing did, or the location opted out). Raises client.GhlError."""
    now = now or timezone.now()
    ContactSync.objects.filter(pk=sync_pk).update(scheduled_at=None)
    state = ContactSync.objects.select_related("location").get(pk=sync_pk)
    installation = Installation.objects.filter(
        location=state.location, active=True, writeback_enabled=True
    ).first()
    if installation is None:
        return []
    contact = Contact.objects.filter(location=state.location, external_id=state.contact_key).first()
    credits, tags = desired(contact, now)
    auth = installations.token_source(state.location)
    # Before the first sync nothing is known of the contact's tags: clear any Kotally tag
    # that should not be there.
    known = set(state.tags) if state.synced_at else set(TAGS)
    changes = []
    if credits != state.credits:
        client.set_contact_field(
            auth, state.contact_key, field_id=_credits_field(auth, installation), value=credits
        )
        changes.append(f"{FIELD_NAME} {credits}")
    if added := sorted(tags - known if state.synced_at else tags):
        client.add_contact_tags(auth, state.contact_key, added)
        changes += [f"+{tag}" for tag in added]
    if removed := sorted(known - tags):
        client.remove_contact_tags(auth, state.contact_key, removed)
        changes += [f"-{tag}" for tag in removed]
    ContactSync.objects.filter(pk=sync_pk).update(
        credits=credits, tags=sorted(tags), synced_at=now, last_error=""
    )
    if changes and contact is not None:
        contact_activity_record(
            location_pk=state.location_id,
            contact_pk=contact.pk,
            message="GHL field updated: " + ", ".join(changes),
        )
    return changes
