"""Reads of a contact's credits, lots, ledger, payments, bookings and timeline.

Item shapes are the API's (SPEC §3.9); the admin pages use the same selectors. Lists are
keyset-paginated: the opaque cursor carries the sort key of the last item returned, so pages
stay stable while new entries arrive.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum, TextChoices
from django.db.models.functions import Coalesce
from django.utils import timezone

from kotally.lib.keyset import BadCursor, Window, decode_cursor, encode_cursor, window
from kotally.lib.text import db_safe
from kotally.lib.timeutil import iso_z, parse_aware
from locations.models import Location

from .models import (
    Appointment,
    Contact,
    ContactActivity,
    Entitlement,
    LedgerEntry,
    LotStatus,
    PaymentEvent,
    PaymentOutcome,
    Refusal,
)
from .outcomes import FIXES, MESSAGES

MAX_LIMIT = 100
RECENT = 5


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


# --- item shapes ------------------------------------------------------------------------------


def contact_item(contact: Contact) -> dict:
    return {
        "id": contact.external_id,
        "external_contact_id": contact.external_id,
        "ghl_contact_id": contact.external_id,
        "email": contact.email or None,
        "name": contact.name or None,
        "created_at": iso_z(contact.created_at),
    }


def lot_status(lot: Entitlement, now: datetime) -> str:
    """The stored status, except that a lot past its expiry reads as expired at once."""
    return LotStatus.EXPIRED if lot.expired_at(now) else lot.status


def entitlement_item(lot: Entitlement, now: datetime) -> dict:
    return {
        "id": lot.public_id,
        "product_config_id": lot.product_config.public_id,
        "product_config_name": lot.product_config.name,
        "kind": lot.product_config.kind,
        "status": lot_status(lot, now),
        "credits_granted": lot.credits_granted,
        "credits_remaining": lot.credits_remaining,
        "granted_at": iso_z(lot.granted_at),
        "expires_at": iso_z(lot.expires_at),
        "paused_at": iso_z(lot.paused_at),
    }


def ledger_item(entry: LedgerEntry) -> dict:
    return {
        "id": entry.public_id,
        "kind": entry.kind,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "entitlement_id": entry.entitlement.public_id,
        "product_config_id": entry.entitlement.product_config.public_id,
        "source": entry.source,
        "request_id": entry.request_id or None,
        "external_ref": entry.external_ref or None,
        "note": entry.note or None,
        "created_at": iso_z(entry.created_at),
    }


def payment_item(payment: PaymentEvent) -> dict:
    return {
        "id": payment.public_id,
        "provider": payment.provider,
        "external_payment_id": payment.external_payment_id,
        "event_type": payment.event_type,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency or None,
        "paid_at": iso_z(payment.paid_at),
        "product_config_id": payment.product_config.public_id if payment.product_config else None,
        "outcome": payment.outcome,
    }


def appointment_item(appointment: Appointment) -> dict:
    return {
        "id": appointment.public_id,
        "external_id": appointment.external_id,
        "calendar_id": appointment.calendar_id or None,
        "start_time": iso_z(appointment.start_time),
        "status": appointment.status,
        "credits_deducted": appointment.credits_deducted,
        "entitlement_id": appointment.entitlement.public_id if appointment.entitlement else None,
    }


# --- querysets --------------------------------------------------------------------------------


def contact_find(location, contact_key: str) -> Contact | None:
    return Contact.objects.filter(location=location, external_id=contact_key).first()


def _lots(contact: Contact) -> QuerySet:
    return Entitlement.objects.select_related("product_config").filter(contact=contact)


def _ledger(contact: Contact) -> QuerySet:
    return LedgerEntry.objects.select_related("entitlement__product_config").filter(contact=contact)


def _payments(contact: Contact) -> QuerySet:
    return PaymentEvent.objects.select_related("product_config").filter(contact=contact)


def _appointments(contact: Contact) -> QuerySet:
    # Bookings without a start time sort by when Kotally first saw them.
    return (
        Appointment.objects.select_related("entitlement")
        .filter(contact=contact)
        .annotate(at=Coalesce("start_time", "created_at"))
    )


def _newest_first(qs: QuerySet, limit: int, cursor: str | None, item) -> Page:
    after = decode_cursor(cursor, 1)
    if after is not None:
        if not isinstance(after[0], int):
            raise BadCursor("cursor is not one this API returned")
        qs = qs.filter(pk__lt=after[0])
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([item(r) for r in rows], encode_cursor([rows[-1].pk]) if more else None)


def ledger_page(contact: Contact, *, limit: int, cursor: str | None) -> Page:
    return _newest_first(_ledger(contact), limit, cursor, ledger_item)


def _admin_ledger_item(entry: LedgerEntry) -> dict:
    actor = entry.actor
    name = (actor.get_full_name() or actor.email) if actor is not None else ""
    return {**ledger_item(entry), "actor": name}


def admin_ledger_page(contact: Contact, *, limit: int, cursor: str | None) -> Page:
    """The contact page's ledger: the API's items plus who did each manual change."""
    return _newest_first(
        _ledger(contact).select_related("actor"), limit, cursor, _admin_ledger_item
    )


def payments_page(contact: Contact, *, limit: int, cursor: str | None) -> Page:
    return _newest_first(_payments(contact), limit, cursor, payment_item)


def entitlements_page(contact: Contact, *, limit: int, cursor: str | None) -> Page:
    now = timezone.now()
    return _newest_first(_lots(contact), limit, cursor, lambda lot: entitlement_item(lot, now))


def _parse_at(value) -> datetime:
    """A cursor's timestamp: aware and within years 1970–2999, as this API writes them (a
    forged extreme one would overflow when the database converts it to UTC)."""
    try:
        at = parse_aware(value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if not 1970 <= at.year <= 2999:
        raise BadCursor("cursor is not one this API returned")
    return at


def appointments_page(contact: Contact, *, upcoming: bool, limit: int, cursor: str | None) -> Page:
    """Upcoming: soonest first from now on. Past: most recent first."""
    now = timezone.now()
    qs = _appointments(contact)
    qs = qs.filter(at__gte=now) if upcoming else qs.filter(at__lt=now)
    after = decode_cursor(cursor, 2)
    if after is not None:
        at, pk = _parse_at(after[0]), after[1]
        if not isinstance(pk, int):
            raise BadCursor("cursor is not one this API returned")
        if upcoming:
            qs = qs.filter(Q(at__gt=at) | Q(at=at, pk__gt=pk))
        else:
            qs = qs.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
    order = ("at", "pk") if upcoming else ("-at", "-pk")
    rows = list(qs.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].at.isoformat(), rows[-1].pk]) if more else None
    return Page([appointment_item(r) for r in rows], next_cursor)


# The timeline merges three tables newest first. Its cursor is (at, source rank, pk) of the
# last event returned; each source is read with the same keyset condition and merged.
_TIMELINE = (
    ("ledger", "created_at", _ledger, ledger_item),
    ("payment", "paid_at", _payments, payment_item),
    (
        "appointment",
        "created_at",
        lambda c: Appointment.objects.select_related("entitlement").filter(contact=c),
        appointment_item,
    ),
)


def refusal_item(refusal: Refusal) -> dict:
    return {
        "operation": refusal.operation,
        "source": refusal.get_source_display(),
        "reason_code": refusal.reason_code,
        "reason": MESSAGES.get(refusal.reason_code, refusal.reason_code),
        "fix": FIXES.get(refusal.reason_code, ""),
        "external_ref": refusal.external_ref or None,
        "calendar_id": refusal.calendar_id or None,
        "request_id": refusal.request_id or None,
        "inbound_event_pk": refusal.inbound_event_pk,
    }


# The admin contact page adds what Kotally told the outside (webhooks sent, GHL updated) and
# what it refused for the member; the API's timeline keeps SPEC §3.9's three types.
_ADMIN_TIMELINE = (
    (
        "activity",
        "created_at",
        lambda c: ContactActivity.objects.filter(contact=c),
        lambda row: {"message": row.message},
    ),
    ("refusal", "created_at", lambda c: Refusal.objects.filter(contact=c), refusal_item),
)


def timeline_page(contact: Contact, *, limit: int, cursor: str | None, admin: bool = False) -> Page:
    after = decode_cursor(cursor, 3)
    if after is not None:
        c_at, c_rank, c_pk = _parse_at(after[0]), after[1], after[2]
        if not isinstance(c_rank, int) or not isinstance(c_pk, int):
            raise BadCursor("cursor is not one this API returned")
    merged = []
    for rank, (kind, field, queryset, item) in enumerate(
        (*_TIMELINE, *_ADMIN_TIMELINE) if admin else _TIMELINE
    ):
        qs = queryset(contact)
        if after is not None:
            before = Q(**{f"{field}__lt": c_at})
            if rank < c_rank:
                before |= Q(**{field: c_at})
            elif rank == c_rank:
                before |= Q(**{field: c_at, "pk__lt": c_pk})
            qs = qs.filter(before)
        for row in qs.order_by(f"-{field}", "-pk")[: limit + 1]:
            merged.append((getattr(row, field), rank, row.pk, kind, item(row)))
    merged.sort(key=lambda e: (e[0], e[1], e[2]), reverse=True)
    more = len(merged) > limit
    merged = merged[:limit]
    events = [{"type": kind, "at": iso_z(at), **body} for at, _, _, kind, body in merged]
    next_cursor = None
    if more:
        at, rank, pk = merged[-1][:3]
        next_cursor = encode_cursor([at.isoformat(), rank, pk])
    return Page(events, next_cursor)


# --- aggregates -------------------------------------------------------------------------------


def contact_lots(contact: Contact) -> list[Entitlement]:
    """Every lot of the contact with its config, by config priority, then oldest first."""
    return list(_lots(contact).order_by("product_config__priority", "pk"))


def credits_by_config(
    contact: Contact, now: datetime | None = None, *, paused: bool = False
) -> tuple[int, list[dict]]:
    """(total available, [{product_config_id, name, credits_available}]) over usable lots: a
    row per config the contact holds lots of, by config priority, then oldest lot first, summed
    by the database in one query (a member of long standing has hundreds of lots). `paused`
    adds credits_paused per row: the credits in its paused, unexpired lots (the contact page
    shows "10 paused" beside "0 available")."""
    now = now or timezone.now()
    sums = {
        "credits_available": Coalesce(Sum("credits_remaining", filter=Entitlement.usable_q(now)), 0)
    }
    if paused:
        held = Q(status=LotStatus.PAUSED, credits_remaining__gt=0) & (
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )
        sums["credits_paused"] = Coalesce(Sum("credits_remaining", filter=held), 0)
    rows = [
        {
            "product_config_id": row["product_config__public_id"],
            "name": row["product_config__name"],
            **{key: row[key] for key in sums},
        }
        for row in Entitlement.objects.filter(contact=contact)
        .values("product_config__priority", "product_config__public_id", "product_config__name")
        .annotate(first_lot=Min("pk"), **sums)
        .order_by("product_config__priority", "first_lot")
    ]
    return sum(row["credits_available"] for row in rows), rows


def credits_of_lots(lots: list[Entitlement], now: datetime) -> tuple[int, list[dict]]:
    """credits_by_config over lots already loaded by `contact_lots` (the embed's contact panel
    lists them anyway and keeps within its query budget)."""
    per_config: dict[str, dict] = {}
    for lot in lots:
        config = lot.product_config
        row = per_config.setdefault(
            config.public_id,
            {"product_config_id": config.public_id, "name": config.name, "credits_available": 0},
        )
        if lot.usable_at(now):
            row["credits_available"] += lot.credits_remaining
    rows = list(per_config.values())
    return sum(r["credits_available"] for r in rows), rows


def contact_summary(contact: Contact) -> dict:
    now = timezone.now()
    total, _ = credits_by_config(contact, now)
    paid = PaymentEvent.objects.filter(contact=contact).aggregate(
        count=Count("pk"),
        ltv=Sum("amount_cents", filter=Q(outcome=PaymentOutcome.GRANTED, is_test=False)),
        last=Max("paid_at", filter=Q(outcome=PaymentOutcome.GRANTED)),
    )
    recent_appointments = (
        Appointment.objects.select_related("entitlement")
        .filter(contact=contact)
        .order_by("-created_at", "-pk")[:RECENT]
    )
    return {
        "credits_available": total,
        "last_paid_at": iso_z(paid["last"]),
        "lifetime_value_cents": paid["ltv"] or 0,
        "payment_events_count": paid["count"],
        "entitlements": [entitlement_item(lot, now) for lot in _lots(contact).order_by("-pk")],
        "recent_ledger": [ledger_item(e) for e in _ledger(contact).order_by("-pk")[:RECENT]],
        "recent_appointments": [appointment_item(a) for a in recent_appointments],
        "recent_payments": [payment_item(p) for p in _payments(contact).order_by("-pk")[:RECENT]],
    }


# --- the admin contacts list ------------------------------------------------------------------

CONTACTS_PAGE = 50
LOW_BALANCE = 3
REFUSED_DAYS = 30
EXPIRING_DAYS = 30
# A trigram index narrows nothing below three characters: shorter searches match ids and
# email addresses by their start only.
SUBSTRING_MIN = 3
# A search (or filter and search) matching at most this many contacts is read by their ids;
# one that matches more is read through the list index, newest first (see contacts_window).
FEW_MATCHES = 1000


class ContactFilter(TextChoices):
    LOW = "low", f"Low balance (1–{LOW_BALANCE} credits)"
    NONE = "none", "No credits"
    EXPIRING = "expiring", f"Credits expiring within {EXPIRING_DAYS} days"
    REFUSED = "refused", f"Refused in the last {REFUSED_DAYS} days"


# Each filter's order is the one its index serves (see Contact.Meta.indexes).
_CONTACT_ORDER = {
    "": ("-created_at", "-id"),
    ContactFilter.NONE: ("-created_at", "-id"),
    ContactFilter.LOW: ("credits_available", "created_at", "id"),
    ContactFilter.EXPIRING: ("credits_expire_at", "id"),
    ContactFilter.REFUSED: ("-created_at", "-id"),
}


def contacts_matching(qs: QuerySet, *, query: str = "", show: str = "") -> QuerySet:
    """The contacts list's search and filter. Search: external id or email by their start,
    name or email by a fragment of three characters or more, each through an index on
    PostgreSQL (migration 0006). Balances are the stored ones (services._keep_balance).
    A query no stored value can hold (NUL) matches nothing."""
    if query and not db_safe(query):
        return qs.none()
    if query:
        match = Q(external_id__startswith=query) | Q(email__istartswith=query)
        if len(query) >= SUBSTRING_MIN:
            match |= Q(name__icontains=query) | Q(email__icontains=query)
        qs = qs.filter(match)
    if show == ContactFilter.NONE:
        qs = qs.filter(credits_available=0)
    elif show == ContactFilter.LOW:
        qs = qs.filter(credits_available__range=(1, LOW_BALANCE))
    elif show == ContactFilter.EXPIRING:
        now = timezone.now()
        qs = qs.filter(credits_expire_at__range=(now, now + timedelta(days=EXPIRING_DAYS)))
    elif show == ContactFilter.REFUSED:
        since = timezone.now() - timedelta(days=REFUSED_DAYS)
        qs = qs.filter(
            Exists(Refusal.objects.filter(contact=OuterRef("pk"), created_at__gte=since))
        )
    return qs


def contacts_window(
    workspace,
    *,
    location: Location | None = None,
    query: str = "",
    show: str = "",
    after: str | None = None,
    before: str | None = None,
) -> Window:
    """One page of the admin contacts list, keyset-paginated, without COUNT(*): across the
    workspace's locations, or one of them. Raises BadCursor.

    A search first reads the ids of at most FEW_MATCHES + 1 matches, in one query whatever
    the number of locations: each trigram index is read once (in a query per location, every
    location would read it again). When that is all of them, the page is read by id. Only a
    search matching more contacts is read per location through the list index, newest first,
    where matches are dense enough to fill a page soon."""
    qs = contacts_matching(Contact.objects.select_related("location"), query=query, show=show)
    if location is not None:
        matching = qs = qs.filter(location=location)
        partition = None
    else:
        locations = list(Location.objects.filter(workspace=workspace).values_list("pk", flat=True))
        matching = qs.filter(location_id__in=locations)
        partition = ("location_id", locations)
    if query:
        ids = list(matching.values_list("pk", flat=True)[: FEW_MATCHES + 1])
        if len(ids) <= FEW_MATCHES:
            qs, partition = Contact.objects.select_related("location").filter(pk__in=ids), None
    return window(
        qs,
        _CONTACT_ORDER[show],
        limit=CONTACTS_PAGE,
        after=after,
        before=before,
        partition=partition,
    )


EXPORT_COLUMNS = {
    "contact_id": "external_id",
    "name": "name",
    "email": "email",
    "location_id": "location__location_id",
    "credits_available": "credits_available",
    "credits_expire_at": "credits_expire_at",
    "first_seen": "created_at",
}


def contacts_export(
    workspace,
    *,
    location: Location | None = None,
    query: str = "",
    show: str = "",
    chunk_size: int = 2000,
):
    """Every contact the list would show, as tuples of EXPORT_COLUMNS, read in chunks through
    a server-side cursor on PostgreSQL: memory stays flat whatever the size. Ordered by
    location, then newest first, the order of the list's index."""
    qs = contacts_matching(
        Contact.objects.filter(location__workspace=workspace), query=query, show=show
    )
    if location is not None:
        qs = qs.filter(location=location)
    return (
        qs.order_by("location_id", "-created_at", "-id")
        .values_list(*EXPORT_COLUMNS.values())
        .iterator(chunk_size=chunk_size)
    )


def contacts_by_ref(location_refs: set[tuple[int, str]]) -> dict[tuple[int, str], Contact]:
    """The stored contacts of (location pk, external id) pairs, in one query (the Events
    page's contact column)."""
    if not location_refs:
        return {}
    match = Q(pk__in=[])
    for location_pk, ref in location_refs:
        match |= Q(location_id=location_pk, external_id=ref)
    return {(c.location_id, c.external_id): c for c in Contact.objects.filter(match)}


def contact_refs_matching(workspace, query: str, *, limit: int = 50) -> list[str]:
    """External ids of the workspace's contacts the contacts search finds for `query` (the
    Events page's search by a member's name or email), at most `limit`."""
    qs = contacts_matching(Contact.objects.filter(location__workspace=workspace), query=query)
    return list(qs.values_list("external_id", flat=True)[:limit])


def config_credits_outstanding(config) -> tuple[int, int]:
    """(members, credits) still usable under a product config: what removing it takes away."""
    totals = (
        Entitlement.objects.filter(
            product_config=config, status=LotStatus.ACTIVE, credits_remaining__gt=0
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .aggregate(
            members=Count("contact", distinct=True), credits=Coalesce(Sum("credits_remaining"), 0)
        )
    )
    return totals["members"], totals["credits"]


LEDGER_COLUMNS = {
    "entry_id": "public_id",
    "at": "created_at",
    "location_id": "location__location_id",
    "contact_id": "contact__external_id",
    "kind": "kind",
    "amount": "amount",
    "lot_balance_after": "balance_after",
    "contact_balance_after": "contact_balance_after",
    "lot_id": "entitlement__public_id",
    "product_config": "entitlement__product_config__name",
    "source": "source",
    "by": "actor__email",
    "request_id": "request_id",
    "external_ref": "external_ref",
    "note": "note",
}


def ledger_export(workspace, *, location: Location | None = None, chunk_size: int = 2000):
    """Every ledger entry of the workspace or one location, as tuples of LEDGER_COLUMNS, in
    chunks through a server-side cursor on PostgreSQL (memory stays flat)."""
    qs = LedgerEntry.objects.filter(location__workspace=workspace)
    if location is not None:
        qs = qs.filter(location=location)
    return (
        qs.order_by("location_id", "created_at", "id")
        .values_list(*LEDGER_COLUMNS.values())
        .iterator(chunk_size=chunk_size)
    )
