"""Outbound webhooks: endpoints, fan-out of domain events, signed delivery with retries.

- `fan_out` (subscribed to entitlements.events) stores the event once per (location, key) and
  one pending Delivery per subscribed active endpoint, then enqueues the first attempts.
- `deliver` makes one attempt. Any 2xx is success; anything else (timeouts, refused
  connections, an address the URL guard refuses) is retried after `retry_delay` until three days
  after the event, then given up. At-least-once: an attempt whose outcome was lost (worker
  killed) is retried once its lease runs out, so receivers dedupe on the event `id`.
- One member's events reach one endpoint in order: a delivery waits while an earlier one of
  the same endpoint and member is pending, and the success or give-up of that one wakes it.
- An endpoint that has failed for three days is disabled and the owners are emailed.

Every function takes `now`, so tests drive the clock; tasks pass the real time.
"""

import json
import time
from datetime import datetime, timedelta

import requests
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from entitlements import services as engine
from entitlements.events import DomainEvent
from entitlements.models import Contact
from kotally.lib import epoch
from kotally.lib.crypto import decrypt, encrypt
from kotally.lib.timeutil import iso_z
from locations.models import Location

from . import emails, signing
from .models import Delivery, DeliveryStatus, Endpoint, OutboundEvent
from .urlguard import UnsafeUrl, check_url

HORIZON = timedelta(days=3)
LEASE = timedelta(seconds=60)  # an attempt in flight; longer than its timeouts
TIMEOUT = (5, 10)  # connect, read (seconds)


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 1 min, doubling, at most 6 hours
    (1, 2, 4, ... 256 min, then every 6 h until the three days are up: about 20 attempts)."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


# --- endpoints --------------------------------------------------------------------------------


def endpoint_create(
    *, location: Location, url: str, event_types: list[str]
) -> tuple[Endpoint, str]:
    """A new active endpoint and its signing secret (returned once, stored encrypted).
    Raises UnsafeUrl for a URL webhooks may not go to."""
    check_url(url)
    secret = signing.new_secret()
    endpoint = Endpoint.objects.create(
        location=location, url=url, event_types=event_types, secret_enc=encrypt(secret)
    )
    return endpoint, secret


def endpoint_enable(*, endpoint: Endpoint, now: datetime | None = None) -> None:
    """Active again, with a fresh failure clock; its pending deliveries resume."""
    now = now or timezone.now()
    with transaction.atomic():
        epoch.changing()  # which locations listen (INTEREST_READS)
        Endpoint.objects.filter(pk=endpoint.pk).update(
            active=True, failing_since=None, disabled_at=None, disabled_reason=""
        )
        epoch.changed()
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            next_attempt_at=now, give_up_at=now + HORIZON
        )
        transaction.on_commit(_kick)


def endpoint_disable(*, endpoint: Endpoint, reason: str, now: datetime | None = None) -> bool:
    """Stop delivering to the endpoint (pending deliveries wait for it to be enabled).
    Returns False when it was already disabled."""
    epoch.changing()  # which locations listen (INTEREST_READS)
    disabled = Endpoint.objects.filter(pk=endpoint.pk, active=True).update(
        active=False, disabled_at=now or timezone.now(), disabled_reason=reason[:255]
    )
    epoch.changed()
    return bool(disabled)


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Remove the endpoint with its delivery log."""
    endpoint.delete()


# --- fan-out ----------------------------------------------------------------------------------


# fan_out's interest (entitlements.events.subscribe): the location has an active endpoint.
INTEREST = f"EXISTS (SELECT 1 FROM {Endpoint._meta.db_table} WHERE location_id = %s AND active)"
INTEREST_READS = {Endpoint: {"location", "location_id", "active"}}


def fan_out(event: DomainEvent) -> None:
    """Store `event` and a delivery per subscribed active endpoint of its location; note it on
    the member's timeline. Called only for a location with an active endpoint (INTEREST)."""
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(location_id=event.location_pk, active=True)
        if event.type in endpoint.event_types
    ]
    if not endpoints:
        return
    contact_pk, contact_key = _member(event)
    with transaction.atomic():
        stored, created = OutboundEvent.objects.get_or_create(
            location_id=event.location_pk,
            key=event.key,
            defaults={
                "type": event.type,
                "created_at": event.at,
                "data": {**event.data, "contact_id": contact_key},
            },
        )
        if not created:
            return  # a re-run announcing the same fact
        deliveries = Delivery.objects.bulk_create(
            [
                Delivery(
                    endpoint=endpoint,
                    event=stored,
                    ordering_key=contact_key,
                    next_attempt_at=event.at,
                    give_up_at=event.at + HORIZON,
                )
                for endpoint in endpoints
            ]
        )
        pks = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue(pks))
    if contact_pk is not None:
        count = len(endpoints)
        engine.contact_activity_record(
            location_pk=event.location_pk,
            contact_pk=contact_pk,
            message=f"sent {event.type} to {count} endpoint{'s' if count > 1 else ''}",
        )


def _member(event: DomainEvent) -> tuple[int | None, str]:
    """(contact pk, contact key) of the member the event is about; events name one or the
    other (a refused booking may name a member Kotally has never seen: no pk)."""
    key = event.data.get("contact_id") or ""
    contacts = Contact.objects.filter(location_id=event.location_pk)
    if event.contact_pk:
        contacts = contacts.filter(pk=event.contact_pk)
    elif key:
        contacts = contacts.filter(external_id=key)
    else:
        return None, ""
    found = contacts.values_list("pk", "external_id").first()
    return found or (None, key)


def _enqueue(pks: list[int]) -> None:
    from .tasks import deliver_task

    for pk in pks:
        deliver_task.delay(pk)


def _kick() -> None:
    from .tasks import deliver_due_task

    deliver_due_task.delay()


# --- delivery ---------------------------------------------------------------------------------


def _earlier_pending():
    """An earlier pending delivery of the same endpoint and member (ordering)."""
    return Delivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        ordering_key=OuterRef("ordering_key"),
        status=DeliveryStatus.PENDING,
        pk__lt=OuterRef("pk"),
    )


def due(now: datetime) -> list[int]:
    """Deliveries whose attempt is due and that wait for no earlier one, oldest first."""
    return list(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True
        )
        .exclude(Q(Exists(_earlier_pending())) & ~Q(ordering_key=""))
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )


def body_of(event: OutboundEvent) -> bytes:
    return json.dumps(
        {
            "id": event.public_id,
            "type": event.type,
            "created": iso_z(event.created_at),
            "location_id": event.location.location_id,
            "data": event.data,
        },
        separators=(",", ":"),
    ).encode()


_session: requests.Session | None = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = "Kotally-Webhooks/1"
    return _session


def _post(endpoint: Endpoint, event: OutboundEvent, now: datetime) -> tuple[int | None, int, str]:
    """(HTTP status or None, latency ms, error) of one signed POST."""
    body = body_of(event)
    headers = {
        "Content-Type": "application/json",
        signing.HEADER: signing.signature(decrypt(endpoint.secret_enc), int(now.timestamp()), body),
        "Kotally-Event-Id": event.public_id,
        "Kotally-Event-Type": event.type,
    }
    started = time.monotonic()
    try:
        check_url(endpoint.url)
        # No redirects: a 3xx could point anywhere, the guard only vouched for this URL.
        response = _http().post(
            endpoint.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except (UnsafeUrl, requests.RequestException) as exc:
        return None, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}"
    latency = int((time.monotonic() - started) * 1000)
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return response.status_code, latency, error


def deliver(*, delivery_pk: int, now: datetime | None = None) -> bool:
    """One attempt of one delivery, if it is due, its endpoint active and no earlier delivery
    of the same member waits. Returns whether an attempt was made."""
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_related("endpoint", "event__location")
        .filter(
            pk=delivery_pk,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            endpoint__active=True,
        )
        .first()
    )
    if delivery is None:
        return False
    if (
        delivery.ordering_key
        and Delivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            ordering_key=delivery.ordering_key,
            status=DeliveryStatus.PENDING,
            pk__lt=delivery.pk,
        ).exists()
    ):
        return False  # the earlier one wakes this one when it is done
    # Claim: of two workers holding the same task, one moves the due time and attempts.
    if not Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=delivery.next_attempt_at
    ).update(next_attempt_at=now + LEASE):
        return False
    status, latency, error = _post(delivery.endpoint, delivery.event, now)
    _record(delivery, now, status, latency, error)
    return True


def _record(delivery: Delivery, now, status: int | None, latency: int, error: str) -> None:
    endpoint = delivery.endpoint
    fields = {
        "attempts": delivery.attempts + 1,
        "last_attempt_at": now,
        "response_status": status,
        "latency_ms": latency,
        "last_error": error[:500],
    }
    done = not error
    if done:
        fields.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
    elif now >= delivery.give_up_at:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        done = True
    else:
        fields["next_attempt_at"] = now + retry_delay(fields["attempts"])
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        if not error:
            Endpoint.objects.filter(pk=endpoint.pk).exclude(failing_since=None).update(
                failing_since=None
            )
        elif endpoint.failing_since is None:
            Endpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)
        elif now - endpoint.failing_since >= HORIZON:
            reason = f"failing since {iso_z(endpoint.failing_since)}; last error: {error}"
            if endpoint_disable(endpoint=endpoint, reason=reason, now=now):
                transaction.on_commit(lambda: emails.send_endpoint_disabled(endpoint, reason))
        if done and delivery.ordering_key:
            transaction.on_commit(lambda: _wake_next(delivery))


def _wake_next(delivery: Delivery) -> None:
    """Enqueue the member's next pending delivery to this endpoint, if it is due."""
    following = (
        Delivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            ordering_key=delivery.ordering_key,
            status=DeliveryStatus.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        _enqueue([following])


def delivery_resend(*, delivery: Delivery, now: datetime | None = None) -> bool:
    """Send a delivery again (any status) with a new three-day horizon. False when its
    endpoint is disabled."""
    now = now or timezone.now()
    if not delivery.endpoint.active:
        return False
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, give_up_at=now + HORIZON
    )
    transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return True
