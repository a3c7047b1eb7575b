"""Reads for the embedded pages: one location at a glance, one contact in brief.

Every function takes the session's location (or a contact already found within it) and filters
on it; no id from the URL is used without that filter. Each is one query, so a page stays
within its budget of five (tests/embed/test_queries.py).
"""

from datetime import datetime, timedelta

from django.db.models import F, OuterRef, QuerySet, Subquery

from entitlements.models import Contact, Entitlement, LedgerEntry, LotStatus
from entitlements.outcomes import MESSAGES, PRECEDENCE, Reason
from entitlements.selectors import contacts_matching
from inbox.models import InboundEvent, Provider
from kotally.lib.text import db_safe
from locations.models import Location

LOW_BALANCE = 2  # credits; a current member at or below this needs a top-up
EXPIRING_DAYS = 7
MEMBERS_SHOWN = 50
SHOWN = 10  # expiring lots, activity entries
REFUSAL_DAYS = 30  # refusals are read from recent GHL events only (bounds the event scan)
# What staff need to hear about: a booking the engine refused to cover (SPEC §2.3), or a late
# cancel that gave no credit back. A cancel with nothing to give back took nothing: not listed.
# (BILLING_SUSPENDED is held, not refused.)
REFUSALS = [*PRECEDENCE[1:], Reason.CANCELLATION_WINDOW_EXPIRED]


def location_with_workspace(**lookup) -> Location | None:
    """The location matching `lookup`; None, without a query, for an id no row can hold (NUL,
    a lone surrogate: from a URL or a GHL context)."""
    if not all(db_safe(value) for value in lookup.values() if isinstance(value, str)):
        return None
    return Location.objects.select_related("workspace").filter(**lookup).first()


def contact_in(location_pk: int, external_id: str) -> Contact | None:
    """The contact `external_id` of that location only, with its location and workspace (one
    query for the panel's contact and its access check)."""
    if not db_safe(external_id):
        return None
    return (
        Contact.objects.select_related("location__workspace")
        .filter(location_id=location_pk, external_id=external_id)
        .first()
    )


def members(location: Location, *, query: str, now: datetime) -> tuple[list[Contact], bool]:
    """(contacts with `balance`, whether more exist). Without a query: members holding usable
    credits, lowest balance first; with one: matching contacts by name. Both read the balance
    the engine stores on the contact (services._keep_balance) through the contacts list's
    indexes, so the dashboard costs the same with ten members or a million."""
    contacts = Contact.objects.filter(location=location).annotate(balance=F("credits_available"))
    if query:
        contacts = contacts_matching(contacts, query=query).order_by("name", "external_id", "pk")
    else:
        contacts = contacts.filter(credits_available__gt=0).order_by(
            "credits_available", "created_at", "pk"
        )
    rows = list(contacts[: MEMBERS_SHOWN + 1])
    return rows[:MEMBERS_SHOWN], len(rows) > MEMBERS_SHOWN


def expiring_lots(location: Location, now: datetime) -> list[Entitlement]:
    """Usable lots with credits left that expire within EXPIRING_DAYS, soonest first."""
    return list(
        Entitlement.objects.select_related("contact", "product_config")
        .filter(
            location=location,
            status=LotStatus.ACTIVE,
            product_config__active=True,
            credits_remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=EXPIRING_DAYS),
        )
        .order_by("expires_at", "pk")[:SHOWN]
    )


def _refusals(location: Location, now: datetime) -> QuerySet:
    """GHL booking events the engine refused, newest first, with the booking's contact id
    (`contact_ref`, read from `appointment.contactId` at intake). Values only: the payload
    stays in the database."""
    return (
        InboundEvent.objects.filter(
            location=location,
            provider=Provider.GHL,
            reason_code__in=REFUSALS,
            received_at__gte=now - timedelta(days=REFUSAL_DAYS),
            payload__appointment__isnull=False,
        )
        .exclude(contact_ref="")
        .order_by("-received_at", "-pk")
    )


def _refusal_item(row: dict) -> dict:
    return {
        "type": "refusal",
        "at": row["received_at"],
        "contact_ref": row["contact_ref"],
        "contact_name": row.get("contact_name") or "",
        "booking": row["event_type"] == "AppointmentCreate",
        "reason_code": row["reason_code"],
        "reason": MESSAGES.get(row["reason_code"], row["reason_code"]),
    }


def recent_activity(location: Location, now: datetime) -> list[dict]:
    """The newest credit movements and refusals of the location, merged newest first."""
    entries = (
        LedgerEntry.objects.select_related("contact", "entitlement__product_config")
        .filter(location=location)
        .order_by("-pk")[:SHOWN]
    )
    names = Contact.objects.filter(location=location, external_id=OuterRef("contact_ref"))
    refusals = (
        _refusals(location, now)
        .annotate(contact_name=Subquery(names.values("name")[:1]))
        .values("received_at", "event_type", "reason_code", "contact_ref", "contact_name")[:SHOWN]
    )
    items = [
        {
            "type": "ledger",
            "at": entry.created_at,
            "contact_ref": entry.contact.external_id,
            "contact_name": entry.contact.name,
            "kind": entry.kind,
            "credits": abs(entry.amount),
            "amount": entry.amount,
            "config": entry.entitlement.product_config.name,
        }
        for entry in entries
    ]
    items += [_refusal_item(row) for row in refusals]
    return sorted(items, key=lambda item: item["at"], reverse=True)[:SHOWN]


def contact_refusals(contact: Contact, now: datetime, limit: int = 5) -> list[dict]:
    rows = (
        _refusals(contact.location, now)
        .filter(contact_ref=contact.external_id)
        .values("received_at", "event_type", "reason_code", "contact_ref")[:limit]
    )
    return [_refusal_item(row) for row in rows]
