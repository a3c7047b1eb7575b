"""Reads of the home dashboard: the workspace at a glance, across apps (SPEC §4 + issue 12).
Each is one query bounded by time or by a LIMIT."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncWeek

from entitlements.models import Contact, Entitlement, LedgerEntry, LedgerKind, LotStatus, Refusal
from entitlements.selectors import LOW_BALANCE
from inbox.models import EventStatus, InboundEvent

WEEKS = 8
SHOWN = 8
EXPIRING_DAYS = 30


@dataclass(frozen=True)
class Week:
    start: datetime
    granted: int
    used: int


def credits_by_week(workspace, now: datetime) -> dict[int, list[Week]]:
    """Per location pk: credits granted and used (deducted net of restores) per week, the
    last WEEKS weeks, oldest first, weeks without movement included. One grouped query over
    the ledger's (location, created_at) index."""
    this_week = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    first = this_week - timedelta(weeks=WEEKS - 1)
    rows = (
        LedgerEntry.objects.filter(
            location__workspace=workspace,
            created_at__gte=first,
            kind__in=(LedgerKind.GRANT, LedgerKind.DEDUCT, LedgerKind.RESTORE),
        )
        .annotate(week=TruncWeek("created_at"))
        .values("location_id", "week")
        .annotate(
            granted=Sum("amount", filter=Q(kind=LedgerKind.GRANT)),
            used=Sum("amount", filter=Q(kind__in=(LedgerKind.DEDUCT, LedgerKind.RESTORE))),
        )
    )
    found = {(row["location_id"], row["week"].date()): row for row in rows}
    charts = {}
    for location_id in {location_id for location_id, _ in found}:
        charts[location_id] = [
            Week(
                start,
                (row := found.get((location_id, start.date()), {})).get("granted") or 0,
                -(row.get("used") or 0),
            )
            for start in (first + timedelta(weeks=n) for n in range(WEEKS))
        ]
    return charts


def expiring_packs(workspace, now: datetime) -> list[Entitlement]:
    return list(
        Entitlement.objects.select_related("contact", "product_config", "location")
        .filter(
            location__workspace=workspace,
            status=LotStatus.ACTIVE,
            credits_remaining__gt=0,
            product_config__active=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=EXPIRING_DAYS),
        )
        .order_by("expires_at", "pk")[:SHOWN]
    )


def low_balances(workspace) -> list[Contact]:
    """Members with 1..LOW_BALANCE usable credits (the stored balance), lowest first."""
    return list(
        Contact.objects.select_related("location")
        .filter(location__workspace=workspace, credits_available__range=(1, LOW_BALANCE))
        .order_by("credits_available", "-created_at", "-pk")[:SHOWN]
    )


def recent_refusals(workspace) -> list[Refusal]:
    return list(
        Refusal.objects.select_related("contact", "location")
        .filter(location__workspace=workspace)
        .order_by("-created_at", "-pk")[:SHOWN]
    )


def webhook_health(workspace, now: datetime) -> list[dict]:
    """Per GHL location with events this week: the last one received and the failed or held
    ones of the last day (bounded to a week of events)."""
    day = now - timedelta(days=1)
    rows = (
        InboundEvent.objects.filter(
            location__workspace=workspace,
            location__kind="ghl",
            received_at__gte=now - timedelta(days=7),
        )
        .values("location__name", "location__location_id")
        .annotate(
            last=Max("received_at"),
            failed=Count("pk", filter=Q(received_at__gte=day, status=EventStatus.FAILED)),
            held=Count("pk", filter=Q(received_at__gte=day, status=EventStatus.HELD)),
        )
        .order_by("location__name")
    )
    return list(rows)
