"""The credit engine: every credit movement goes through a function in this module.

Contracts (SPEC §2):
- Each write locks the contact row first (SELECT ... FOR UPDATE), then its lots ordered by
  primary key, so all writes for one contact are serialized and never deadlock.
- Counters change in SQL (`credits_remaining = credits_remaining + delta`); CheckConstraints
  keep 0 <= remaining <= granted.
- Every movement appends one LedgerEntry (amount, lot balance after, contact balance after).
- Services open `transaction.atomic(savepoint=False)`: standalone they are a transaction of
  their own; inside `idempotency.run_once` they join its transaction so the stored response
  and the credit change commit together.
- Refusals are returned as `Outcome` values (see outcomes.py), never raised.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from kotally.lib import epoch
from kotally.lib.rows import Insert, Shape, db, hot_cursor
from kotally.lib.timeutil import iso_z
from locations.models import Location, LocationStatus

from . import events
from .models import (
    Appointment,
    AppointmentStatus,
    ConfigKind,
    Contact,
    ContactActivity,
    Entitlement,
    LedgerEntry,
    LedgerKind,
    LotStatus,
    PaymentEvent,
    PaymentOutcome,
    ProductConfig,
    Refusal,
    RenewalPolicy,
    Source,
)
from .outcomes import Outcome, Reason, refuse


@dataclass(frozen=True)
class Actor:
    """Who or what causes a movement; copied onto every ledger entry it writes."""

    source: str = Source.API
    user: object = None
    request_id: str = ""
    correlation_id: str = ""
    note: str = ""


SYSTEM = Actor(source=Source.SYSTEM)


# --- shared helpers ---------------------------------------------------------------------------


def _gate(location: Location) -> Outcome | None:
    """Refusals 1 and 2 of SPEC §2.3, shared by every write and check."""
    if location.workspace.billing_suspended:
        return refuse(Reason.BILLING_SUSPENDED)
    if location.status != LocationStatus.ACTIVE:
        return refuse(Reason.LOCATION_INACTIVE)
    return None


# The engine's hot reads are hand-written over these shapes (kotally/lib/rows.py).
_CONTACT, _LOT, _CONFIG = Shape(Contact), Shape(Entitlement), Shape(ProductConfig)
_CONFIG_SQL = (
    f"SELECT {_CONFIG.columns('p')} FROM {_CONFIG.table} p "
    "WHERE p.location_id = %s AND p.public_id = %s AND p.active LIMIT 1"
)


# (location pk, config public id) → its row, or None: during an API request, kept in this
# process under the request's epoch (kotally/lib/epoch.py); a config's change moves the epoch
# (watched in EntitlementsConfig.ready).
_configs = epoch.Kept()


def _active_config(location: Location, product_config_id: str | None) -> ProductConfig | None:
    if not product_config_id:
        return None
    key, known = (location.pk, product_config_id), epoch.current.get()
    if (kept := _configs.get(key)) and kept[1] == known:
        row = kept[0]
    else:
        with hot_cursor() as cursor:
            cursor.execute(_CONFIG_SQL, [location.pk, product_config_id])
            row = cursor.fetchone()
        _configs.put(key, row, known)
    return _CONFIG.build(row) if row else None


def _lock_contact(location: Location, contact_key: str) -> Contact | None:
    # Unique key: a plain LIMIT 1, no ORDER BY.
    found = Contact.objects.select_for_update().filter(location=location, external_id=contact_key)[
        :1
    ]
    return found[0] if found else None


def _lock_or_create_contact(location: Location, contact_key: str) -> Contact:
    contact = _lock_contact(location, contact_key)
    if contact is None:
        # Insert-or-ignore, then lock: two first grants for one new contact cannot collide.
        Contact.objects.bulk_create(
            [Contact(location=location, external_id=contact_key)], ignore_conflicts=True
        )
        contact = _lock_contact(location, contact_key)
    return contact


# Lots that still hold credits. Grants and successful deducts only ever touch these, so a
# member with years of spent lots costs no more than a new one; the full history is read
# only to name the exact refusal (see _choose_with_history).
_LIVE = Q(credits_remaining__gt=0, status__in=(LotStatus.ACTIVE, LotStatus.PAUSED))


def _lots(contact: Contact, *, live_only: bool = False, lock: bool = False) -> list[Entitlement]:
    """The contact's non-revoked lots with their configs, in primary-key order; with `lock`,
    row-locked (FOR UPDATE OF the lots only) in that order."""
    qs = Entitlement.objects.select_related("product_config").filter(contact=contact)
    qs = qs.filter(_LIVE) if live_only else qs.exclude(status=LotStatus.REVOKED)
    if lock:
        qs = qs.select_for_update(of=("self",))
    return list(qs.order_by("pk"))


def _lock_lots(contact: Contact, *, live_only: bool = False) -> list[Entitlement]:
    return _lots(contact, live_only=live_only, lock=True)


_LOT_COLUMNS = f"{_LOT.columns('e')}, {_CONFIG.columns('p')}"
_WHICH = {
    True: "e.credits_remaining > 0 AND e.status IN (%s, %s)",  # _LIVE
    False: "e.status <> %s",
}
_WHICH_PARAMS = {True: [LotStatus.ACTIVE, LotStatus.PAUSED], False: [LotStatus.REVOKED]}
_CONTACT_WHERE = "c.location_id = %s AND c.external_id = %s"
# PostgreSQL: the contact row is locked first (a materialized CTE is scanned before the
# lateral join reads its lots), then its lots, in primary-key order: the order every writer
# locks in. SQLite's writers are serialized (BEGIN IMMEDIATE) and need no row locks.
_LOCK_SQL = {
    "postgresql": (
        f"WITH c AS MATERIALIZED (SELECT {_CONTACT.columns('c')} FROM {_CONTACT.table} c "
        f"WHERE {_CONTACT_WHERE} FOR UPDATE) "
        f"SELECT c.*, x.* FROM c LEFT JOIN LATERAL (SELECT {_LOT_COLUMNS} FROM {_LOT.table} e "
        f"JOIN {_CONFIG.table} p ON p.id = e.product_config_id "
        "WHERE e.contact_id = c.id AND {which} ORDER BY e.id FOR UPDATE OF e) x ON true"
    ),
    "sqlite": (
        f"SELECT {_CONTACT.columns('c')}, {_LOT_COLUMNS} FROM {_CONTACT.table} c "
        f"LEFT JOIN {_LOT.table} e ON e.contact_id = c.id AND {{which}} "
        f"LEFT JOIN {_CONFIG.table} p ON p.id = e.product_config_id "
        f"WHERE {_CONTACT_WHERE} ORDER BY e.id"
    ),
}


def _lock_contact_and_lots(
    location: Location, contact_key: str, *, now: datetime, live_only: bool = False
) -> tuple[Contact | None, list[Entitlement]]:
    """`_lock_contact` then `_lock_lots`, in one round trip when nothing raced: the contact
    (None when unknown) and its lots as `_lots` selects them. Hand-written SQL: this is the
    deduct's hot path.

    One statement reads with one snapshot, taken before it waited for the contact's lock.
    If a writer held that lock and committed meanwhile, `FOR UPDATE` hands back the newest
    version of every row the statement matched, but a lot the writer created (a grant) or
    brought back to life (a restore of a spent lot) was not matched and is missing here.
    Every writer stores the contact's balance in its transaction, so the contact row — locked,
    hence newest — tells: when its stored balance is not the one these lots give, the lots
    are read again by a statement of their own, which sees everything committed before it.
    A missed lot that is not usable changes no balance; callers that act on unusable lots
    (a reset renewal's forfeit) read the lots again themselves."""
    sql = _LOCK_SQL[connection.vendor]
    which = _WHICH_PARAMS[live_only]
    if connection.vendor == "postgresql":
        params = [location.pk, contact_key, *which]
    else:
        params = [*which, location.pk, contact_key]
    with hot_cursor() as cursor:
        cursor.execute(sql.replace("{which}", _WHICH[live_only]), params)
        rows = cursor.fetchall()
    if not rows:
        return None, []
    contact = _CONTACT.build(rows[0])
    lots = []
    for row in rows:
        lot = _LOT.build(row, len(_CONTACT))
        if lot is not None:
            lot.product_config = _CONFIG.build(row, len(_CONTACT) + len(_LOT))
            lots.append(lot)
    if _balance(lots, now) != (contact.credits_available, contact.credits_expire_at):
        lots = _lock_lots(contact, live_only=live_only)
    return contact, lots


def _choose_with_history(contact, lots, **target) -> "_Choice":
    """Choose among live lots; on a refusal, re-decide over the whole history, which only
    spent/expired lots can add to, so the answer is the same lot or the precise reason."""
    choice = _choose_lot(lots, **target)
    if choice.refusal and contact is not None:
        choice = _choose_lot(_lots(contact), **target)
    return choice


def consumption_key(lot: Entitlement):
    """SPEC §2.2: priority ascending, soonest expiry (none last), oldest grant, then id."""
    return (
        lot.product_config.priority,
        lot.expires_at is None,
        lot.expires_at or lot.granted_at,
        lot.granted_at,
        lot.pk,
    )


def available(lots: list[Entitlement], now: datetime) -> int:
    return sum(lot.credits_remaining for lot in lots if lot.usable_at(now))


@dataclass(frozen=True)
class _Choice:
    refusal: Outcome | None
    lot: Entitlement | None = None
    matching: tuple = ()


def _preflight(
    location: Location, product_config_id: str | None, calendar_id: str | None, amount: int
) -> tuple[ProductConfig | None, Outcome | None]:
    """What check, deduct and restore share: refusals 1–3 of SPEC §2.3, and the requested
    config (None when only a calendar was named). A missing target or an amount below 1 are
    programming errors, not refusals: the API validates them before calling."""
    if not product_config_id and not calendar_id:
        raise ValueError("a product_config_id or a calendar_id is required")
    if amount < 1:
        raise ValueError("amount must be a positive integer")
    if refusal := _gate(location):
        return None, refusal
    config = _active_config(location, product_config_id)
    if product_config_id and config is None:
        return None, refuse(Reason.CONFIG_NOT_FOUND)
    return config, None


def _choose_lot(
    lots: list[Entitlement],
    *,
    config: ProductConfig | None,
    calendar_id: str | None,
    amount: int,
    now: datetime,
) -> _Choice:
    """Refusals 3–8 of SPEC §2.3 over already-loaded lots; otherwise the lot to consume."""
    if not lots:
        return _Choice(refuse(Reason.NO_ENTITLEMENT, balance=0))
    if config is not None:
        if calendar_id and not config.covers_calendar(calendar_id):
            return _Choice(refuse(Reason.SERVICE_FAMILY_MISMATCH, balance=0))
        matching = [lot for lot in lots if lot.product_config_id == config.pk]
    else:
        family = [lot for lot in lots if lot.product_config.covers_calendar(calendar_id)]
        matching = [lot for lot in family if lot.product_config.active]
        if family and not matching:
            return _Choice(refuse(Reason.CONFIG_NOT_FOUND))
    if not matching:
        # The contact holds lots (NO_ENTITLEMENT is only "no lot at all"), none for this.
        return _Choice(refuse(Reason.SERVICE_FAMILY_MISMATCH, balance=0))
    usable = sorted((lot for lot in matching if lot.usable_at(now)), key=consumption_key)
    balance = sum(lot.credits_remaining for lot in usable)
    if balance == 0:
        # A spent lot is no reason to refuse: say why the others cannot be used, if they can't.
        if any(lot.status == LotStatus.PAUSED for lot in matching):
            return _Choice(refuse(Reason.ENTITLEMENT_PAUSED, balance=0))
        if any(lot.expired_at(now) for lot in matching):
            return _Choice(refuse(Reason.ENTITLEMENT_EXPIRED, balance=0))
    for lot in usable:
        if lot.credits_remaining >= amount:
            return _Choice(None, lot, tuple(usable))
    return _Choice(refuse(Reason.INSUFFICIENT_CREDITS, balance=balance))


def _move(
    lot: Entitlement,
    delta: int,
    *,
    kind: str,
    actor: Actor,
    lots: list[Entitlement],
    now: datetime,
    external_ref: str = "",
    appointment: Appointment | None = None,
    applied: bool = False,
    also: list[tuple[str, list]] = (),
) -> LedgerEntry:
    """Apply `delta` to one locked lot (unless the caller already `applied` it, as a new lot
    created full does), append its ledger entry with the updates in `also` (`_append`) and
    announce it (after commit)."""
    lot_delta = 0 if applied else delta
    lot.credits_remaining += lot_delta
    balance, expire_at = _balance(lots, now)
    entry = LedgerEntry(
        location_id=lot.location_id,
        contact_id=lot.contact_id,
        entitlement=lot,
        kind=kind,
        amount=delta,
        balance_after=lot.credits_remaining,
        contact_balance_after=balance,
        source=actor.source,
        request_id=actor.request_id,
        external_ref=external_ref,
        appointment=appointment,
        correlation_id=actor.correlation_id,
        actor=actor.user,
        note=actor.note,
        created_at=now,
    )
    _append(entry, lot_delta=lot_delta, expire_at=expire_at, also=also)
    _announce(entry, lot, lots, now)
    return entry


_LEDGER = Insert(LedgerEntry)
_UPDATE_LOT = (
    f"UPDATE {Entitlement._meta.db_table} SET credits_remaining = credits_remaining + %s "
    "WHERE id = %s"
)
_EXPIRE_AT = Contact._meta.get_field("credits_expire_at")
_UPDATE_BALANCE = (
    f"UPDATE {Contact._meta.db_table} SET credits_available = %s, credits_expire_at = %s "
    "WHERE id = %s"
)


def _append(
    entry: LedgerEntry, *, lot_delta: int, expire_at: datetime | None, also: list = ()
) -> None:
    """Insert `entry`, add `lot_delta` (if any) to its (locked) lot, store the contact's
    balance (`_keep_balance`; the entry's contact_balance_after, soonest expiry `expire_at`)
    and run the updates in `also` [(sql, params)] that belong with it.
    On PostgreSQL one round trip: the updates are data-modifying CTEs of the insert, run to
    completion (and their CHECK constraints enforced) whether or not the insert reads them.
    SQLite has no such CTE and runs the same statements in turn."""
    expire_at = _EXPIRE_AT.get_db_prep_save(expire_at, db())
    updates = [(_UPDATE_BALANCE, [entry.contact_balance_after, expire_at, entry.contact_id])]
    if lot_delta:
        updates.append((_UPDATE_LOT, [lot_delta, entry.entitlement_id]))
    updates.extend(also)
    with hot_cursor() as cursor:
        if connection.vendor == "postgresql":
            ctes = ", ".join(f"u{i} AS ({sql})" for i, (sql, _) in enumerate(updates))
            params = [p for _, values in updates for p in values]
            _LEDGER.run(entry, cursor, prefix=f"WITH {ctes} ", params=params)
        else:
            for sql, values in updates:
                cursor.execute(sql, values)
            _LEDGER.run(entry, cursor)


# A reset renewal's forfeit is announced by the grant it is part of.
_ANNOUNCED = {
    LedgerKind.GRANT: events.CREDITS_GRANTED,
    LedgerKind.DEDUCT: events.CREDITS_DEDUCTED,
    LedgerKind.RESTORE: events.CREDITS_RESTORED,
    LedgerKind.REVOKE: events.CREDITS_REVOKED,
    LedgerKind.EXPIRE: events.CREDITS_EXPIRED,
}


def _announce(entry: LedgerEntry, lot: Entitlement, lots: list[Entitlement], now) -> None:
    """The movement's domain event; a deduct that takes its config's balance to its low
    threshold or to zero also announces credits.low / credits.depleted. No queries."""
    kind = _ANNOUNCED.get(entry.kind)
    if kind is None:
        return
    config = lot.product_config
    balance = available([x for x in lots if x.product_config_id == config.pk], now)
    data = {
        "entitlement_id": lot.public_id,
        "product_config_id": config.public_id,
        "product_config_name": config.name,
        "amount": entry.amount,
        "balance": balance,
        "contact_balance": entry.contact_balance_after,
        "source": entry.source,
        "external_ref": entry.external_ref,
        "ledger_entry_id": entry.public_id,
    }
    events.publish(kind, lot.location_id, data, key=entry.public_id, contact_pk=lot.contact_id)
    if entry.kind != LedgerKind.DEDUCT:
        return
    before, threshold = balance - entry.amount, config.low_credits_threshold
    if balance == 0 < before:
        crossed = events.CREDITS_DEPLETED
    elif threshold is not None and 0 < balance <= threshold < before:
        crossed = events.CREDITS_LOW
    else:
        return
    events.publish(
        crossed,
        lot.location_id,
        {**data, "low_credits_threshold": threshold},
        key=f"{entry.public_id}:{crossed}",
        contact_pk=lot.contact_id,
    )


def _balance(lots: list[Entitlement], now: datetime) -> tuple[int, datetime | None]:
    """The contact's usable credits and the soonest expiry among them. `lots` must hold every
    lot with credits left."""
    usable = [lot for lot in lots if lot.usable_at(now) and lot.credits_remaining > 0]
    return (
        sum(lot.credits_remaining for lot in usable),
        min((lot.expires_at for lot in usable if lot.expires_at), default=None),
    )


def _keep_balance(contact_id: int, lots: list[Entitlement], now: datetime) -> None:
    """Store `_balance` on the contact's (locked) row, in the transaction of the change: the
    admin list reads and filters by these columns instead of summing every member's lots.
    A credit movement stores it with its ledger entry (`_append`)."""
    balance, expire_at = _balance(lots, now)
    Contact.objects.filter(pk=contact_id).update(
        credits_available=balance, credits_expire_at=expire_at
    )


def balances_refresh(contacts: QuerySet, *, now: datetime) -> int:
    """Recompute the stored balance of many contacts in one statement, by the rule of
    _keep_balance, for a change that makes lots unusable without moving credits (a config
    removed). Returns how many contacts were updated."""
    usable = Entitlement.objects.filter(
        Entitlement.usable_q(now), contact=OuterRef("pk"), credits_remaining__gt=0
    ).values("contact")
    return Contact.objects.filter(pk__in=contacts.values("pk")).update(
        credits_available=Coalesce(
            Subquery(usable.annotate(total=Sum("credits_remaining")).values("total")), 0
        ),
        credits_expire_at=Subquery(usable.annotate(soonest=Min("expires_at")).values("soonest")),
    )


# --- grant ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """The purchase a grant is for. (location, provider, external_payment_id) is unique: one
    payment grants at most once (SPEC §2.1)."""

    external_payment_id: str
    provider: str = "automation"
    event_type: str = "payment_confirmed"
    amount_cents: int | None = None
    currency: str = ""
    paid_at: datetime | None = None
    external_ref: str = ""
    metadata: dict | None = None
    is_test: bool = False


def credits_grant(
    *,
    location: Location,
    contact_key: str,
    product_config_id: str,
    payment: Payment,
    actor: Actor,
    quantity: int = 1,
    credits: int | None = None,
    email: str = "",
    name: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Grant one lot of `quantity × credits` for one paid purchase (SPEC §2.1) — or of exactly
    `credits` (a manual grant of any number, SPEC §2.5).

    Refusals: BILLING_SUSPENDED, LOCATION_INACTIVE, CONFIG_NOT_FOUND, DUPLICATE_EVENT (with the
    original entitlement_id). The payment key (location, provider, external_payment_id) is
    unique in the database, so one payment grants at most once whatever the concurrency.
    """
    if quantity < 1:
        raise ValueError("quantity must be a positive integer")
    now = now or timezone.now()
    if refusal := _gate(location):
        return refusal
    config = _active_config(location, product_config_id)
    if config is None:
        return refuse(Reason.CONFIG_NOT_FOUND)
    with transaction.atomic(savepoint=False):
        contact, lots = _lock_contact_and_lots(location, contact_key, now=now, live_only=True)
        if contact is None:
            # A duplicate must change nothing, not even create the contact it names.
            if (original := _settled_payment(location, payment)) is not None:
                return refuse(
                    Reason.DUPLICATE_EVENT, entitlement_id=original or None, contact_id=contact_key
                )
            contact = _lock_or_create_contact(location, contact_key)
            lots = _lock_lots(contact, live_only=True)  # a concurrent first grant's lot
        row = _payment_row(
            location,
            contact,
            payment,
            now,
            product_config=config,
            outcome=PaymentOutcome.GRANTED,
            created_at=now,
        )
        # Insert-or-ignore; on a conflict read back: whoever's row is stored owns the payment.
        with hot_cursor() as cursor:
            inserted = _PAYMENT.run(row, cursor)
        stored = row
        if not inserted:
            stored = PaymentEvent.objects.select_related("entitlement").get(
                location=location,
                provider=payment.provider,
                external_payment_id=payment.external_payment_id,
            )
        if not inserted and not _claim(stored, row):
            # Read the lot afresh when absent: a concurrent claimer may just have funded it.
            original = (
                stored.entitlement.public_id
                if stored.entitlement
                else Entitlement.objects.filter(payment=stored)
                .values_list("public_id", flat=True)
                .first()
            )
            return refuse(Reason.DUPLICATE_EVENT, entitlement_id=original, contact_id=contact_key)
        if (email and email != contact.email) or (name and name != contact.name):
            contact.email, contact.name = email or contact.email, name or contact.name
            contact.save(update_fields=["email", "name", "updated_at"])

        if config.kind == ConfigKind.MEMBERSHIP and config.renewal_policy == RenewalPolicy.RESET:
            # Forfeits act on unusable lots too: read them all (see _lock_contact_and_lots).
            lots = _lock_lots(contact, live_only=True)
            for old in lots:
                if (
                    old.product_config_id == config.pk
                    and old.status in (LotStatus.ACTIVE, LotStatus.PAUSED)
                    and old.credits_remaining > 0
                ):
                    _move(
                        old,
                        -old.credits_remaining,
                        kind=LedgerKind.FORFEIT,
                        actor=actor,
                        lots=lots,
                        now=now,
                    )
        credits = credits or config.credits_per_grant * quantity
        granted_from = payment.paid_at or now
        lot = Entitlement(
            location=location,
            contact=contact,
            product_config=config,
            credits_granted=credits,
            credits_remaining=credits,
            granted_at=now,
            expires_at=granted_from + timedelta(days=config.expiry_days)
            if config.expiry_days
            else None,
            payment=stored,
            value_cents=payment.amount_cents,
        )
        with hot_cursor() as cursor:
            _LOT_INSERT.run(lot, cursor)
        lots.append(lot)
        _move(
            lot,
            credits,
            kind=LedgerKind.GRANT,
            actor=actor,
            lots=lots,
            now=now,
            external_ref=payment.external_ref,
            applied=True,
            also=[(_LINK_PAYMENT, [lot.pk, stored.pk])],
        )
        stored.entitlement = lot
    return Outcome(
        ok=True,
        reason_code=Reason.GRANT_APPLIED,
        contact_id=contact_key,
        entitlement_id=lot.public_id,
        credits_granted=credits,
        balance_after=available([x for x in lots if x.product_config_id == config.pk], now),
        expires_at=lot.expires_at,
    )


# Payments kept without a grant that a later grant may still fund: the admin fixed the
# product config (unmatched / ambiguous) or billing resumed (held) and the event is retried.
_CLAIMABLE = (PaymentOutcome.UNMATCHED, PaymentOutcome.AMBIGUOUS, PaymentOutcome.HELD)


_PAYMENT = Insert(PaymentEvent, ignore_conflicts=True)
_LOT_INSERT = Insert(Entitlement)
_LINK_PAYMENT = f"UPDATE {PaymentEvent._meta.db_table} SET entitlement_id = %s WHERE id = %s"


def _settled_payment(location, payment: Payment) -> str | None:
    """The lot id ("" if none) of an already settled payment with this key, else None
    (unknown, or stored without a grant and still claimable)."""
    row = (
        PaymentEvent.objects.filter(
            location=location,
            provider=payment.provider,
            external_payment_id=payment.external_payment_id,
        )
        .exclude(entitlement__isnull=True, outcome__in=_CLAIMABLE)
        .values_list("entitlement__public_id", flat=True)[:1]
    )
    return (row[0] or "") if row else None


def _payment_row(location, contact, payment: Payment, now, **fields) -> PaymentEvent:
    return PaymentEvent(
        location=location,
        contact=contact,
        provider=payment.provider,
        external_payment_id=payment.external_payment_id,
        event_type=payment.event_type,
        amount_cents=payment.amount_cents,
        currency=payment.currency.upper(),
        paid_at=payment.paid_at or now,
        external_ref=payment.external_ref,
        is_test=payment.is_test,
        metadata=payment.metadata or {},
        **fields,
    )


def _claim(stored: PaymentEvent, payment: PaymentEvent) -> bool:
    """Turn a stored, never-granted payment into this grant's payment.

    The conditional UPDATE is the guard: of two concurrent claimers, PostgreSQL re-checks the
    WHERE clause for the second after the first commits, so exactly one gets the row.
    """
    fields = {
        "contact": payment.contact,
        "product_config": payment.product_config,
        "outcome": PaymentOutcome.GRANTED,
        "explanation": "",
        "event_type": payment.event_type,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "paid_at": payment.paid_at,
        "external_ref": payment.external_ref,
        "is_test": payment.is_test,
        "metadata": payment.metadata,
    }
    claimed = PaymentEvent.objects.filter(
        pk=stored.pk, entitlement__isnull=True, outcome__in=_CLAIMABLE
    ).update(**fields)
    if claimed:
        for field, value in fields.items():
            setattr(stored, field, value)
    return bool(claimed)


def payment_record(
    *,
    location: Location,
    contact_key: str | None,
    payment: Payment,
    outcome: str,
    explanation: str,
    external_product_ref: str = "",
) -> PaymentEvent:
    """Keep a payment that granted nothing (unmatched, ambiguous, duplicate, held) for
    inspection. Idempotent on the payment key: a redelivery returns the stored row."""
    with transaction.atomic(savepoint=False):
        contact = _lock_or_create_contact(location, contact_key) if contact_key else None
        row = _payment_row(
            location,
            contact,
            payment,
            timezone.now(),
            outcome=outcome,
            explanation=explanation[:500],
            external_product_ref=external_product_ref,
        )
        PaymentEvent.objects.bulk_create([row], ignore_conflicts=True)
        return PaymentEvent.objects.get(
            location=location,
            provider=payment.provider,
            external_payment_id=payment.external_payment_id,
        )


# --- contacts and appointments reported by integrations ----------------------------------------


def contact_upsert(
    *, location: Location, contact_key: str, email: str = "", name: str = ""
) -> bool:
    """Create the contact, or keep its email and name current (blank values never erase).
    Returns True when it was created."""
    fields = {
        field: value for field, value in (("email", email[:254]), ("name", name[:255])) if value
    }
    with transaction.atomic(savepoint=False):
        contact, created = Contact.objects.select_for_update().get_or_create(
            location=location, external_id=contact_key[:255], defaults=fields
        )
        changed = {f: v for f, v in fields.items() if getattr(contact, f) != v}
        if not created and changed:
            Contact.objects.filter(pk=contact.pk).update(**changed, updated_at=timezone.now())
    return created


def appointment_seen(
    *,
    location: Location,
    external_id: str,
    contact_key: str,
    calendar_id: str,
    start_time: datetime | None,
    status: str,
    source: str,
) -> tuple[Appointment, bool]:
    """The stored booking `external_id`, created with its contact the first time an
    integration reports it — also when it moves no credit (created cancelled, refused for lack
    of credits), so its later changes are judged against what was seen. Returns
    (appointment, created)."""
    with transaction.atomic(savepoint=False):
        found = Appointment.objects.filter(location=location, external_id=external_id).first()
        if found is not None:
            return found, False
        contact = _lock_or_create_contact(location, contact_key)
        # Insert-or-ignore, then read back (as _record_booking): the first insert owns it.
        Appointment.objects.bulk_create(
            [
                Appointment(
                    location=location,
                    contact=contact,
                    external_id=external_id,
                    calendar_id=calendar_id,
                    start_time=start_time,
                    status=AppointmentStatus(status),
                    source=source,
                )
            ],
            ignore_conflicts=True,
        )
        return Appointment.objects.get(location=location, external_id=external_id), True


def appointment_update(
    *,
    location: Location,
    external_id: str,
    start_time: datetime | None = None,
    status: str | None = None,
    source_updated_at: datetime | None = None,
    confirmations: int | None = None,
    source_deleted: bool | None = None,
) -> bool:
    """Keep a stored booking current: start time, status and the reporting integration's
    bookkeeping (None leaves a field as it is). Credits are untouched (a `noshow` keeps its
    deduction). Returns False when no such booking is stored."""
    wanted = {
        "start_time": start_time,
        "status": AppointmentStatus(status) if status else None,
        "source_updated_at": source_updated_at,
        "confirmations": confirmations,
        "source_deleted": source_deleted,
    }
    with transaction.atomic(savepoint=False):
        stored = (
            Appointment.objects.select_for_update()
            .filter(location=location, external_id=external_id)
            .first()
        )
        if stored is None:
            return False
        changes = {
            field: value
            for field, value in wanted.items()
            if value is not None and getattr(stored, field) != value
        }
        if changes:
            Appointment.objects.filter(pk=stored.pk).update(**changes, updated_at=timezone.now())
    return True


def contact_activity_record(*, location_pk: int, contact_pk: int, message: str) -> None:
    """Note on the member's timeline what Kotally told the outside world about them
    (a webhook sent, the GoHighLevel field updated)."""
    ContactActivity.objects.create(
        location_id=location_pk, contact_id=contact_pk, message=message[:255]
    )


def refusal_record(
    *,
    location: Location,
    contact_key: str,
    actor: Actor,
    operation: str,
    reason_code: str,
    external_ref: str = "",
    calendar_id: str = "",
    inbound_event_pk: int | None = None,
) -> Refusal:
    """Keep a refused check, deduct or restore for the member's page ("why didn't it
    deduct?"). A member Kotally has not seen yet is created, so Contacts finds them. Callers
    record once per request id (inside run_once, whose replay skips it)."""
    contact = Contact.objects.filter(location=location, external_id=contact_key).first()
    if contact is None:
        # Insert-or-ignore, then read back: a first grant may be creating the same member.
        Contact.objects.bulk_create(
            [Contact(location=location, external_id=contact_key)], ignore_conflicts=True
        )
        contact = Contact.objects.get(location=location, external_id=contact_key)
    return Refusal.objects.create(
        location=location,
        contact=contact,
        source=actor.source,
        operation=operation,
        reason_code=reason_code,
        request_id=actor.request_id[:255],
        external_ref=external_ref[:255],
        calendar_id=(calendar_id or "")[:255],
        inbound_event_pk=inbound_event_pk,
    )


# --- check and deduct -------------------------------------------------------------------------


def eligibility_check(
    *,
    location: Location,
    contact_key: str,
    product_config_id: str | None = None,
    calendar_id: str | None = None,
    amount: int = 1,
    now: datetime | None = None,
) -> Outcome:
    """Would a deduct of `amount` succeed now? No writes. Refusals: SPEC §2.3, with `balance`."""
    now = now or timezone.now()
    config, refusal = _preflight(location, product_config_id, calendar_id, amount)
    if refusal:
        return refusal
    contact = Contact.objects.filter(location=location, external_id=contact_key).first()
    lots = _lots(contact, live_only=True) if contact else []
    choice = _choose_with_history(
        contact, lots, config=config, calendar_id=calendar_id, amount=amount, now=now
    )
    if choice.refusal:
        return choice.refusal
    return Outcome(
        ok=True,
        reason_code=Reason.ELIGIBLE,
        entitlement_id=choice.lot.public_id,
        balance_after=available(list(choice.matching), now) - amount,
    )


def credits_deduct(
    *,
    location: Location,
    contact_key: str,
    actor: Actor,
    product_config_id: str | None = None,
    calendar_id: str | None = None,
    amount: int = 1,
    external_ref: str = "",
    appointment_time: datetime | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Take `amount` credits from the first lot in consumption order that holds them.

    Refusals: SPEC §2.3. With `external_ref` the booking is recorded as an Appointment.
    `balance_after` is what remains available for that config/calendar.
    """
    now = now or timezone.now()
    config, refusal = _preflight(location, product_config_id, calendar_id, amount)
    if refusal:
        return refusal
    with transaction.atomic(savepoint=False):
        contact, lots = _lock_contact_and_lots(location, contact_key, now=now, live_only=True)
        choice = _choose_with_history(
            contact, lots, config=config, calendar_id=calendar_id, amount=amount, now=now
        )
        if choice.refusal:
            return choice.refusal
        lot = choice.lot
        appointment = None
        if external_ref:
            appointment = _record_booking(
                contact, lot, external_ref, calendar_id, appointment_time, actor.source, amount
            )
        _move(
            lot,
            -amount,
            kind=LedgerKind.DEDUCT,
            actor=actor,
            lots=lots,
            now=now,
            external_ref=external_ref,
            appointment=appointment,
        )
    return Outcome(
        ok=True,
        reason_code=Reason.DEDUCTED,
        entitlement_id=lot.public_id,
        balance_after=available(list(choice.matching), now),
        credits_changed=amount,
    )


def _record_booking(contact, lot, external_ref, calendar_id, start_time, source, amount):
    appointment = Appointment.objects.filter(
        location_id=contact.location_id, external_id=external_ref
    ).first()
    if appointment is None:
        # Insert-or-ignore, then read back: two members booking with the same reference at
        # once must not become an IntegrityError (a 500); the first insert owns it.
        Appointment.objects.bulk_create(
            [
                Appointment(
                    location_id=contact.location_id,
                    contact=contact,
                    external_id=external_ref,
                    calendar_id=calendar_id or "",
                    start_time=start_time,
                    source=source,
                    credits_deducted=amount,
                    entitlement=lot,
                )
            ],
            ignore_conflicts=True,
        )
        appointment = Appointment.objects.get(
            location_id=contact.location_id, external_id=external_ref
        )
        return appointment if appointment.contact_id == contact.pk else None
    if appointment.contact_id != contact.pk:
        return None  # another member's booking reference: never touch their record
    appointment.credits_deducted += amount
    appointment.entitlement = lot
    appointment.status = AppointmentStatus.BOOKED
    appointment.calendar_id = calendar_id or appointment.calendar_id
    appointment.start_time = start_time or appointment.start_time
    appointment.save()
    return appointment


# --- restore ----------------------------------------------------------------------------------


def credits_restore(
    *,
    location: Location,
    contact_key: str,
    actor: Actor,
    product_config_id: str | None = None,
    calendar_id: str | None = None,
    amount: int = 1,
    external_ref: str = "",
    appointment_time: datetime | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Give back credits for a cancelled booking (SPEC §2.4).

    Refusals, in order: BILLING_SUSPENDED, LOCATION_INACTIVE, CONFIG_NOT_FOUND, NO_ENTITLEMENT,
    SERVICE_FAMILY_MISMATCH (config and calendar both given and disagreeing, SPEC §3.4),
    CANCELLATION_WINDOW_EXPIRED, NOTHING_TO_RESTORE, CONFIG_NOT_FOUND (the target lot's config
    was removed), ENTITLEMENT_EXPIRED.
    Target: with `external_ref`, the lot an earlier deduction for it came from (a reference
    that deducted nothing for this contact has nothing to give back); without, the most
    recently deducted-from lot of the config/calendar that still has a deduction outstanding.
    A lot only ever gets back what was deducted from it and not yet restored, so it never
    exceeds `credits_granted`, and one `external_ref` never gets back more than it took.
    """
    now = now or timezone.now()
    config, refusal = _preflight(location, product_config_id, calendar_id, amount)
    if refusal:
        return refusal
    with transaction.atomic(savepoint=False):
        contact, lots = _lock_contact_and_lots(location, contact_key, now=now)
        if not lots:
            return refuse(Reason.NO_ENTITLEMENT)
        if config is not None and calendar_id and not config.covers_calendar(calendar_id):
            return refuse(Reason.SERVICE_FAMILY_MISMATCH)
        appointment = None
        if external_ref:
            appointment = Appointment.objects.filter(
                location=location, external_id=external_ref, contact=contact
            ).first()
        start = appointment_time or (appointment.start_time if appointment else None)
        window = location.effective_cancellation_window_hours
        # window 0 switches the check off entirely, past appointments included.
        if start is not None and window > 0 and now > start - timedelta(hours=window):
            return refuse(Reason.CANCELLATION_WINDOW_EXPIRED)

        target, cap = _restore_target(contact, lots, external_ref, config, calendar_id)
        if target is None:
            return refuse(Reason.NOTHING_TO_RESTORE)
        if not target.product_config.active:
            return refuse(Reason.CONFIG_NOT_FOUND, entitlement_id=target.public_id)
        if target.expired_at(now):
            return refuse(Reason.ENTITLEMENT_EXPIRED, entitlement_id=target.public_id)
        give = min(amount, cap, target.credits_granted - target.credits_remaining)
        if give <= 0:
            return refuse(Reason.NOTHING_TO_RESTORE, entitlement_id=target.public_id)
        if appointment is not None:
            appointment.credits_deducted = max(0, appointment.credits_deducted - give)
            appointment.status = AppointmentStatus.CANCELLED
            appointment.save(update_fields=["credits_deducted", "status", "updated_at"])
        _move(
            target,
            give,
            kind=LedgerKind.RESTORE,
            actor=actor,
            lots=lots,
            now=now,
            external_ref=external_ref,
            appointment=appointment,
        )
    family = [lot for lot in lots if lot.product_config_id == target.product_config_id]
    return Outcome(
        ok=True,
        reason_code=Reason.RESTORED,
        entitlement_id=target.public_id,
        balance_after=available(family, now),
        credits_changed=give,
    )


def _restore_target(contact, lots, external_ref, config, calendar_id):
    """(lot, most it may get back) for a restore, or (None, 0) when nothing is owed.

    One grouped query over the contact's deduct/restore entries gives, per lot, what is still
    outstanding (deducted minus restored) and the newest deduction; with `external_ref` the
    same figures restricted to that reference.
    """
    by_pk = {lot.pk: lot for lot in lots}
    aggregates = {"net": Sum("amount"), "last": Max("pk", filter=Q(kind=LedgerKind.DEDUCT))}
    if external_ref:
        mine = Q(external_ref=external_ref)
        aggregates["ref_net"] = Sum("amount", filter=mine)
        aggregates["ref_last"] = Max("pk", filter=mine & Q(kind=LedgerKind.DEDUCT))
    rows = (
        LedgerEntry.objects.filter(
            contact=contact, kind__in=(LedgerKind.DEDUCT, LedgerKind.RESTORE)
        )
        .values("entitlement_id")
        .annotate(**aggregates)
        .order_by()
    )
    owed = []  # (newest deduction pk, lot pk, credits still owed)
    for row in rows:
        if row["entitlement_id"] not in by_pk:
            continue  # revoked lots take nothing back
        outstanding = -row["net"]
        if external_ref:
            if row["ref_last"] is None:
                continue
            owed.append((row["ref_last"], row["entitlement_id"], min(outstanding, -row["ref_net"])))
        elif row["last"] is not None and _lot_matches(
            by_pk[row["entitlement_id"]], config, calendar_id
        ):
            owed.append((row["last"], row["entitlement_id"], outstanding))
    owed = [entry for entry in owed if entry[2] > 0]
    if not owed:
        return None, 0
    _, pk, cap = max(owed)
    return by_pk[pk], cap


def _lot_matches(lot: Entitlement, config: ProductConfig | None, calendar_id: str | None) -> bool:
    if config is not None:
        return lot.product_config_id == config.pk
    return lot.product_config.covers_calendar(calendar_id)


# --- refunds, voids, disputes -----------------------------------------------------------------


def payment_refund(
    *,
    location: Location,
    provider: str,
    external_payment_id: str,
    actor: Actor,
    refunded_cents: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Take back the still-unused credits of a refunded, voided or disputed purchase (SPEC
    §5.3): a `revoke` ledger entry on the lot it funded; credits already used are reported
    (`credits_used`), never driven negative. The payment shows `refunded`.

    `refunded_cents` is the CUMULATIVE amount refunded so far (Stripe's `amount_refunded`);
    None means all of it. A partial refund takes back that share of the credits granted,
    rounded up, of what is still unused. Calls are idempotent: each takes back only what the
    cumulative figure adds to earlier refunds of the payment (kept on the payment).
    Refusals: PAYMENT_NOT_GRANTED (unknown payment, or one that granted nothing).
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        payment = (
            PaymentEvent.objects.select_for_update()
            .filter(
                location=location,
                provider=provider,
                external_payment_id=external_payment_id,
                entitlement__isnull=False,
            )
            .first()
        )
        if payment is None:
            return refuse(Reason.PAYMENT_NOT_GRANTED)
        lot, lots = _locked_lot(
            Entitlement(pk=payment.entitlement_id, contact_id=payment.contact_id)
        )
        # A revoked lot (an earlier full refund, or by hand) has nothing left to take.
        lot = lot or Entitlement.objects.get(pk=payment.entitlement_id)
        granted = lot.credits_granted
        share = (
            1
            if refunded_cents is None or not payment.amount_cents
            else min(1, refunded_cents / payment.amount_cents)
        )
        owed = math.ceil(granted * share)  # credits the refund as a whole takes back
        done = (payment.metadata or {}).get("refund_taken", 0)
        used = (payment.metadata or {}).get("refund_used", 0)
        remaining = lot.credits_remaining if lot.status != LotStatus.REVOKED else 0
        take = min(max(owed - done - used, 0), remaining)
        used += max(owed - done - used - take, 0)
        if take:
            if take == lot.credits_remaining:
                Entitlement.objects.filter(pk=lot.pk).update(status=LotStatus.REVOKED)
                lot.status = LotStatus.REVOKED
            _move(lot, -take, kind=LedgerKind.REVOKE, actor=actor, lots=lots, now=now)
        PaymentEvent.objects.filter(pk=payment.pk).update(
            outcome=PaymentOutcome.REFUNDED,
            explanation=f"refunded: {done + take} credits taken back, {used} already used",
            metadata={
                **(payment.metadata or {}),
                "refund_taken": done + take,
                "refund_used": used,
                "refunded_cents": refunded_cents,
            },
        )
    return Outcome(
        ok=True,
        reason_code=Reason.REFUND_APPLIED,
        entitlement_id=lot.public_id,
        credits_changed=take,
        credits_used=used,
        balance_after=available(lots, now),
    )


# --- pause, resume, revoke, expiry ------------------------------------------------------------


def _locked_lot(entitlement: Entitlement) -> tuple[Entitlement | None, list[Entitlement]]:
    contact = Contact.objects.select_for_update().get(pk=entitlement.contact_id)
    lots = _lock_lots(contact)
    lot = next((x for x in lots if x.pk == entitlement.pk), None)
    return lot, lots


def entitlement_pause(*, entitlement: Entitlement, now: datetime | None = None) -> bool:
    """Pause an active lot: unusable until resumed. Returns False when it was not active."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        lot, lots = _locked_lot(entitlement)
        if lot is None or lot.status != LotStatus.ACTIVE or lot.expired_at(now):
            return False
        Entitlement.objects.filter(pk=lot.pk).update(status=LotStatus.PAUSED, paused_at=now)
        lot.status = LotStatus.PAUSED
        _keep_balance(lot.contact_id, lots, now)
    return True


def entitlement_resume(*, entitlement: Entitlement, now: datetime | None = None) -> bool:
    """Resume a paused lot; its expiry moves later by the time spent paused (SPEC §2.5)."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        lot, lots = _locked_lot(entitlement)
        if lot is None or lot.status != LotStatus.PAUSED:
            return False
        expires_at = lot.expires_at + (now - lot.paused_at) if lot.expires_at else None
        Entitlement.objects.filter(pk=lot.pk).update(
            status=LotStatus.ACTIVE, paused_at=None, expires_at=expires_at
        )
        lot.status, lot.expires_at = LotStatus.ACTIVE, expires_at
        _keep_balance(lot.contact_id, lots, now)
    return True


def entitlements_pause_config(
    *, contact: Contact, product_config: ProductConfig, pause: bool, now: datetime | None = None
) -> int:
    """Pause (or resume) every lot of one contact's config; returns how many changed."""
    service = entitlement_pause if pause else entitlement_resume
    lots = Entitlement.objects.filter(contact=contact, product_config=product_config)
    return sum(service(entitlement=lot, now=now) for lot in lots)


def entitlement_revoke(
    *, entitlement: Entitlement, actor: Actor, now: datetime | None = None
) -> bool:
    """Revoke a lot: its remaining credits leave with a `revoke` entry; it is never usable again."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        lot, lots = _locked_lot(entitlement)
        if lot is None:
            return False
        Entitlement.objects.filter(pk=lot.pk).update(status=LotStatus.REVOKED)
        lot.status = LotStatus.REVOKED
        _move(lot, -lot.credits_remaining, kind=LedgerKind.REVOKE, actor=actor, lots=lots, now=now)
    return True


def expire_lots(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mark active lots past `expires_at` as expired, writing an `expire` entry taking their
    remaining credits to 0. Paused lots are skipped: their clock is stopped. Returns the count.

    Reads due lots in primary-key batches and locks each one's contact in its own short
    transaction, so the sweep never holds many members' rows at once.
    """
    now = now or timezone.now()
    count, after = 0, 0
    while True:
        due = list(
            Entitlement.objects.filter(status=LotStatus.ACTIVE, expires_at__lte=now, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "contact_id")[:batch]
        )
        for pk, contact_id in due:
            with transaction.atomic():
                lot, lots = _locked_lot(Entitlement(pk=pk, contact_id=contact_id))
                if lot is None or lot.status != LotStatus.ACTIVE or not lot.expired_at(now):
                    continue  # paused, revoked or already swept since the read
                Entitlement.objects.filter(pk=lot.pk).update(status=LotStatus.EXPIRED)
                lot.status = LotStatus.EXPIRED
                _move(
                    lot,
                    -lot.credits_remaining,
                    kind=LedgerKind.EXPIRE,
                    actor=SYSTEM,
                    lots=lots,
                    now=now,
                )
                count += 1
        if len(due) < batch:
            return count
        after = due[-1][0]


def announce_expiring(*, days: int, now: datetime | None = None) -> int:
    """Announce credits.expiring once per lot: usable lots still holding credits whose
    expiry falls within `days` days. Returns how many were announced."""
    now = now or timezone.now()
    due = Entitlement.objects.select_related("product_config").filter(
        status=LotStatus.ACTIVE,
        credits_remaining__gt=0,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=days),
        expiry_announced_at__isnull=True,
        product_config__active=True,
    )
    count = 0
    for lot in due.order_by("pk"):
        with transaction.atomic():
            # The conditional update claims the lot, so overlapping sweeps announce it once.
            if not Entitlement.objects.filter(pk=lot.pk, expiry_announced_at__isnull=True).update(
                expiry_announced_at=now
            ):
                continue
            events.publish(
                events.CREDITS_EXPIRING,
                lot.location_id,
                {
                    "entitlement_id": lot.public_id,
                    "product_config_id": lot.product_config.public_id,
                    "product_config_name": lot.product_config.name,
                    "credits_remaining": lot.credits_remaining,
                    "expires_at": iso_z(lot.expires_at),
                },
                key=f"{lot.public_id}:expiring",
                contact_pk=lot.contact_id,
            )
        count += 1
    return count
