"""Domain events: what the engine tells the rest of Kotally after a change has committed.

A tiny publish/subscribe so the engine never imports the apps that react (outbound webhooks,
the GoHighLevel write-back): they `subscribe` from their AppConfig.ready, the engine
`publish`es. Delivery to subscribers happens on commit of the publishing transaction (at once
outside one), so a rolled-back change announces nothing and no subscriber ever runs inside
the engine's transaction or can roll it back.

The types are TYPES below; what each carries is in docs/outbound.md. Events name rows by
primary key (`location_pk`, `contact_pk`): the engine publishes without extra queries, and a
subscriber reads what it needs only when it has work to do.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from kotally.lib import epoch
from kotally.lib.rows import hot_cursor
from kotally.lib.timeutil import iso_z

logger = logging.getLogger("kotally.events")

CREDITS_GRANTED = "credits.granted"
CREDITS_DEDUCTED = "credits.deducted"
CREDITS_RESTORED = "credits.restored"
CREDITS_REVOKED = "credits.revoked"
CREDITS_EXPIRED = "credits.expired"
CREDITS_LOW = "credits.low"
CREDITS_DEPLETED = "credits.depleted"
CREDITS_EXPIRING = "credits.expiring"
BOOKING_REFUSED = "booking.refused"
PAYMENT_UNMATCHED = "payment.unmatched"

TYPES = (
    CREDITS_GRANTED,
    CREDITS_DEDUCTED,
    CREDITS_RESTORED,
    CREDITS_REVOKED,
    CREDITS_EXPIRED,
    CREDITS_LOW,
    CREDITS_DEPLETED,
    CREDITS_EXPIRING,
    BOOKING_REFUSED,
    PAYMENT_UNMATCHED,
)


@dataclass(frozen=True)
class DomainEvent:
    """`key` names the fact the event reports (a ledger entry, a lot, a payment): a
    subscriber that stores events dedupes on it, so a re-run announcing the same fact twice
    reaches the outside once. `contact_pk` is the member, when the event has one."""

    type: str
    location_pk: int
    data: dict
    key: str
    contact_pk: int | None = None
    at: datetime = field(default_factory=timezone.now)


@dataclass(frozen=True)
class _Subscriber:
    handler: Callable[[DomainEvent], None]
    interest: str


_subscribers: list[_Subscriber] = []


def subscribe(
    handler: Callable[[DomainEvent], None], *, interest: str = "", reads: dict | None = None
) -> None:
    """Call `handler` with every event once its transaction commits. `interest` is an SQL
    condition on one parameter, the event's location primary key, true when the handler may
    have work there (an active endpoint, an installation): the conditions of all subscribers
    are asked in one query, and a handler is called only when its own is true (or when it has
    none). Most locations listen to nothing; then an event costs that one query.

    `reads` names the columns the condition reads ({model: field names}): during an API
    request the answers are kept in this process under the request's epoch
    (kotally/lib/epoch.py), and a change to those columns moves the epoch. So an event reaches
    a listener that existed when the request was authenticated."""
    if all(s.handler is not handler for s in _subscribers):
        _subscribers.append(_Subscriber(handler, interest))
    for model, fields in (reads or {}).items():
        epoch.watch(model, fields)


# location pk → the subscribers' answers, as last read under an epoch in this process
_answers = epoch.Kept()


def _interested(location_pk: int) -> list[Callable[[DomainEvent], None]]:
    subscribers = list(_subscribers)
    asked = [s for s in subscribers if s.interest]
    answers = {}
    known = epoch.current.get()
    if asked and (kept := _answers.get(location_pk)) and kept[1] == known:
        answers = kept[0]
    elif asked:
        with hot_cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join(f"({s.interest})" for s in asked),
                [location_pk] * len(asked),
            )
            answers = dict(zip((s.handler for s in asked), cursor.fetchone(), strict=True))
        _answers.put(location_pk, answers, known)
    return [s.handler for s in subscribers if answers.get(s.handler, True)]


def _deliver(event: DomainEvent) -> None:
    try:
        handlers = _interested(event.location_pk)
    except DatabaseError:
        logger.exception("could not ask the subscribers' interest in %s", event.type)
        return
    for handler in handlers:
        try:
            handler(event)
        except Exception:
            # The change is committed; one failing subscriber must not starve the others.
            logger.exception("subscriber %s failed on %s", handler.__qualname__, event.type)


def publish(
    type: str, location_pk: int, data: dict, *, key: str, contact_pk: int | None = None
) -> None:
    """Announce `type` to every subscriber once the current transaction commits."""
    if type not in TYPES:
        raise ValueError(f"unknown domain event type {type!r}")
    event = DomainEvent(
        type=type, location_pk=location_pk, data=data, key=key, contact_pk=contact_pk
    )
    transaction.on_commit(lambda: _deliver(event))


def announce_booking_refused(
    *,
    location_pk: int,
    request_id: str,
    contact_key: str,
    reason_code: str,
    source: str,
    calendar_id: str | None = None,
    product_config_id: str | None = None,
    external_ref: str = "",
    appointment_time: datetime | None = None,
) -> None:
    """booking.refused, for a deduct of a booking (GHL appointment, API deduct) that the
    engine refused; `request_id` is the deduct's, which runs once."""
    publish(
        BOOKING_REFUSED,
        location_pk,
        {
            "contact_id": contact_key,
            "reason_code": reason_code,
            "calendar_id": calendar_id or "",
            "product_config_id": product_config_id or "",
            "external_ref": external_ref,
            "appointment_time": iso_z(appointment_time),
            "source": source,
        },
        key=f"booking.refused:{request_id}",
    )
