"""Processing of stored inbound events: claim the row, run the one handler registered for its
(provider, event type), record the final status and reason on the row (SPEC §5.3).

Integrations register their handlers in their AppConfig.ready (`register`); the inbox never
imports an integration. A handler turns a payload into engine calls and RETURNS a `Result`;
`process` alone claims and finishes events.

Exactly-once: for an `atomic` handler (the default) `process` runs it and records its result
in ONE transaction, so a worker killed half-way leaves both or neither, and a re-run either
finds the event final (claim refuses it) or starts again from a clean slate. Handlers that
must call a remote API (which never happens inside a transaction) register `atomic=False`:
their writes must be idempotent on their own keys, so a re-run after a crash finds the work
done. The engine's own keys (payment key, `ghl:appt:<id>:*` request ids) are the second guard
when two workers race on one event.

Held events wait, in order per location, for what they need: billing to allow writes again
(BILLING_SUSPENDED), their location to be linked (AWAITING_LOCATION: an install still under
way; `locations.signals.location_linked` replays them at once), or earlier held events of the
same location (HELD_BEHIND). Integrations may hold events for reasons of their own and
release them with `release_later`.
"""

import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import SUSPENDED
from entitlements.idempotency import InProgress
from entitlements.outcomes import BillingSuspended, Reason
from kotally.lib.envelope import current_correlation_id
from locations.models import Location, LocationStatus

from .intake import enqueue
from .models import FINAL, EventReason, EventStatus, InboundEvent

logger = logging.getLogger("kotally.events")


@dataclass(frozen=True)
class Result:
    status: str
    reason_code: str
    error: str = ""  # in words, for the Events page
    detail: str = ""  # traceback or exception, for logs and /staff/ only


class InvalidPayload(Exception):
    """The event lacks what its type needs; it fails for good (a retry cannot fix it)."""


class Needs:
    """What a handler needs before it runs."""

    NOTHING = "nothing"  # app lifecycle events (install/uninstall) name their own targets
    LOCATION = "location"  # a known location, whatever its status (contact updates)
    ACTIVE_LOCATION = "active_location"  # credit-moving events


@dataclass(frozen=True)
class Handler:
    handle: Callable[[InboundEvent], Result]
    needs: str = Needs.ACTIVE_LOCATION
    # Held while the workspace's billing is suspended (SPEC §5.3); app lifecycle and
    # Kotally's own billing events never are (an uninstall must always disconnect).
    holdable: bool = True
    atomic: bool = True


_HANDLERS: dict[tuple[str, str], Handler] = {}


def register(provider: str, event_types, handle, **options) -> None:
    """Route events of `provider` with one of `event_types` to `handle` (see Handler)."""
    for event_type in event_types:
        _HANDLERS[(provider, event_type)] = Handler(handle, **options)


def event_types() -> list[str]:
    """Every event type a handler is registered for, sorted."""
    return sorted({event_type for _, event_type in _HANDLERS})


def handler_for(event: InboundEvent) -> Handler | None:
    return _HANDLERS.get((event.provider, event.event_type))


def is_transient(exc: BaseException) -> bool:
    """Errors worth a retry with backoff: database hiccups, a concurrent run of the same
    request id, and remote-API failures their integration marks `retryable`."""
    if isinstance(exc, OperationalError | InterfaceError | InProgress):
        return True
    return bool(getattr(exc, "retryable", False))


# --- lifecycle: claim, finish, process ---------------------------------------------------------


def _finish(event: InboundEvent, result: Result) -> None:
    now = timezone.now()
    InboundEvent.objects.filter(pk=event.pk).update(
        status=result.status,
        reason_code=result.reason_code,
        last_error=result.error,
        error_detail=result.detail,
        processed_at=now if result.status in FINAL else None,
        updated_at=now,
    )


def _lifecycle() -> Q:
    """Events of types registered `holdable=False` (app install/uninstall): they never wait,
    and nothing waits behind them."""
    never_held = Q(pk__in=[])
    for (provider, event_type), handler in _HANDLERS.items():
        if not handler.holdable:
            never_held |= Q(provider=provider, event_type=event_type)
    return never_held


def _held_before(event: InboundEvent) -> bool:
    """Held events of the same location received earlier (also those stored before the
    location was linked): this one must wait behind them."""
    earlier = Q(received_at__lt=event.received_at) | Q(
        received_at=event.received_at, pk__lt=event.pk
    )
    same_location = Q(location=event.location_id) | Q(
        location__isnull=True, location_ref=event.location.location_id
    )
    return (
        InboundEvent.objects.filter(same_location, status=EventStatus.HELD)
        .filter(earlier)
        .exclude(_lifecycle())
        .exists()
    )


def _claim(event_pk: int, *, releasing: bool, now: datetime) -> tuple[InboundEvent | None, float]:
    """Lock the row and move it to `processing`. Returns (event, 0) to go on, (None, wait)
    when it is not due for `wait` seconds, (None, 0) when there is nothing to do."""
    with transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(of=("self",))
            .select_related("location__workspace")
            .filter(pk=event_pk)
            .first()
        )
        if event is None or event.status in FINAL:
            return None, 0
        if releasing != (event.status == EventStatus.HELD):
            return None, 0
        if event.process_after and event.process_after > now:
            return None, (event.process_after - now).total_seconds()
        if event.location is None and event.location_ref:
            # An install processed after this event was stored may have created the location.
            event.location = Location.objects.filter(location_id=event.location_ref).first()
        handler = handler_for(event)
        if event.location is not None and (handler is None or handler.holdable):
            reason = (
                Reason.BILLING_SUSPENDED
                if event.location.workspace.billing_suspended
                else EventReason.HELD_BEHIND
                if _held_before(event)
                else None
            )
            if reason:
                event.status, event.reason_code = EventStatus.HELD, reason
                event.save(update_fields=["location", "status", "reason_code", "updated_at"])
                return None, 0
        event.status = EventStatus.PROCESSING
        event.attempts += 1
        event.save(update_fields=["location", "status", "attempts", "updated_at"])
        return event, 0


def _precheck(event: InboundEvent, handler: Handler | None) -> Result | None:
    """The outcome when the handler must not run at all."""
    if handler is None:
        return Result(EventStatus.IGNORED, EventReason.UNHANDLED_EVENT_TYPE)
    if event.location is None and handler.needs != Needs.NOTHING:
        if event.location_ref:
            # Not linked yet (an install still under way): replayed when it is.
            return Result(EventStatus.HELD, EventReason.AWAITING_LOCATION)
        return Result(EventStatus.IGNORED, EventReason.UNKNOWN_LOCATION)
    if handler.needs == Needs.ACTIVE_LOCATION and event.location.status != LocationStatus.ACTIVE:
        # Failed, not ignored: Retry from the Events page once the location is active.
        return Result(EventStatus.FAILED, Reason.LOCATION_INACTIVE)
    return None


def process(event_pk: int, *, releasing: bool = False) -> float:
    """Process one stored event. Returns seconds to wait when it is not due yet (else 0).

    Transient errors propagate (the task retries; the row stays `processing` with the error,
    so the sweeper takes over if retries run out); anything else fails the event.
    """
    event, wait = _claim(event_pk, releasing=releasing, now=timezone.now())
    if event is None:
        return wait
    handler = handler_for(event)
    try:
        if (result := _precheck(event, handler)) is not None:
            _finish(event, result)
        elif handler.atomic:
            with transaction.atomic():
                _finish(event, handler.handle(event))
        else:
            _finish(event, handler.handle(event))
        return 0
    except BillingSuspended:
        result = Result(EventStatus.HELD, Reason.BILLING_SUSPENDED)
    except InvalidPayload as exc:
        result = Result(EventStatus.FAILED, EventReason.INVALID_PAYLOAD, str(exc))
    except Exception as exc:
        if is_transient(exc):
            InboundEvent.objects.filter(pk=event.pk).update(
                last_error="A temporary failure; Kotally retries on its own.",
                error_detail=repr(exc)[:2000],
            )
            raise
        # Members see the reason and an id to quote; support finds the traceback by that id in
        # the logs and on /staff/.
        cid = current_correlation_id()
        if cid == "-":
            cid = uuid.uuid4().hex
        logger.exception("inbound event %s failed (correlation id %s)", event.pk, cid)
        result = Result(
            EventStatus.FAILED,
            EventReason.PROCESSING_ERROR,
            f"Processing failed unexpectedly. Correlation id: {cid}",
            traceback.format_exc()[-4000:],
        )
    _finish(event, result)
    return 0


# --- held events, the sweeper, retries ---------------------------------------------------------


AWAITING = (EventReason.AWAITING_LOCATION, EventReason.AWAITING_COMPANY)


def release_held(
    *, workspace_pk: int | None = None, location_ref: str = "", pks: list[int] | None = None
) -> int:
    """Process held events, oldest first, each inline (not enqueued) so a location's events
    keep their order. Which ones:

    - `pks`: exactly these; `location_ref`: every event held about that location (it was just
      linked);
    - otherwise (periodic, or billing recovered in `workspace_pk`): events held for billing or
      behind others in workspaces whose billing allows writes again, and events awaiting a
      location that now exists (a replay the linking commit could not enqueue).
    Events still not ready are held again by `process`.
    """
    held = InboundEvent.objects.filter(status=EventStatus.HELD)
    if pks is not None:
        held = held.filter(pk__in=pks)
    elif location_ref:
        held = held.filter(location_ref=location_ref)
    else:
        billing = Q(location__isnull=False) & ~Q(reason_code__in=AWAITING)
        if workspace_pk is not None:
            billing &= Q(location__workspace_id=workspace_pk)
        billing &= ~Q(location__workspace__billing_status__in=SUSPENDED)
        appeared = Q(
            location__isnull=True,
            location_ref__in=Location.objects.values("location_id"),
        )
        held = held.filter(billing if workspace_pk is not None else billing | appeared)
    ordered = list(held.order_by("received_at", "pk").values_list("pk", flat=True))
    for pk in ordered:
        process(pk, releasing=True)
    return len(ordered)


def release_later(*, location_ref: str = "", pks: list[int] | None = None) -> None:
    """Release held events (see release_held) in a task, after the current transaction
    commits. A broker outage only logs: the periodic release catches up."""
    from .tasks import release_held_events  # the tasks module imports this one

    def send():
        try:
            release_held_events.delay(location_ref=location_ref, pks=pks)
        except Exception:
            logger.exception("could not enqueue the release of held events")

    if location_ref or pks:
        transaction.on_commit(send)


def on_location_linked(sender, location, **kwargs) -> None:
    """locations.signals.location_linked: replay what waited for this location."""
    release_later(location_ref=location.location_id)


def sweep_stuck(*, stale_after: timedelta, now: datetime | None = None) -> list[int]:
    """Events left in received/processing longer than `stale_after` (lost broker message,
    killed worker): touch them so the next sweep waits again, and return their ids."""
    now = now or timezone.now()
    stuck = InboundEvent.objects.filter(
        status__in=(EventStatus.RECEIVED, EventStatus.PROCESSING),
        updated_at__lt=now - stale_after,
    ).filter(Q(process_after__isnull=True) | Q(process_after__lte=now))
    pks = list(stuck.order_by("received_at", "pk").values_list("pk", flat=True)[:500])
    InboundEvent.objects.filter(pk__in=pks).update(updated_at=now)
    return pks


def retry_failed(event: InboundEvent) -> bool:
    """Put a failed event back to `received` and enqueue it after commit (Events page
    *Retry*); False when it is not failed."""
    with transaction.atomic():
        retried = InboundEvent.objects.filter(pk=event.pk, status=EventStatus.FAILED).update(
            status=EventStatus.RECEIVED, reason_code="", updated_at=timezone.now()
        )
        if retried:
            transaction.on_commit(lambda: enqueue(event.pk))
    return bool(retried)


def reprocess(event: InboundEvent) -> bool:
    """*Reprocess* a finished event (Events page), e.g. after comping credits or fixing a
    config: back to `received`, marked `reprocessed_at` for its handler, enqueued after
    commit. False when it is not finished (already queued, processing or held). Safe to
    repeat: handlers re-run under the engine's keys (request ids, payment keys), and a GHL
    booking already charged is not charged again."""
    now = timezone.now()
    with transaction.atomic():
        queued = InboundEvent.objects.filter(pk=event.pk, status__in=FINAL).update(
            status=EventStatus.RECEIVED,
            reason_code="",
            last_error="",
            error_detail="",
            processed_at=None,
            reprocessed_at=now,
            updated_at=now,
        )
        if queued:
            transaction.on_commit(lambda: enqueue(event.pk))
    return bool(queued)


def requeue(pks: list[int]) -> None:
    """Process already-final events again, after the current transaction commits (a merchant
    Stripe refund that came before its purchase, replayed once the purchase granted)."""
    if not pks:
        return
    InboundEvent.objects.filter(pk__in=pks).update(
        status=EventStatus.RECEIVED, reason_code="", processed_at=None, updated_at=timezone.now()
    )
    for pk in pks:
        transaction.on_commit(lambda pk=pk: enqueue(pk))
