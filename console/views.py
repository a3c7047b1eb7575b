"""Console pages: what a workspace member sees that combines several apps (SPEC §4) — the
home dashboard, the Getting Started checklist and the Locations list with its GoHighLevel
connection health."""

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.permissions import member_view
from api.models import ApiClient
from billing import client as billing_client
from billing.views import allow_stripe_redirects
from entitlements.models import ProductConfig
from inbox.models import InboundEvent, Provider
from integrations_ghl.writeback import missing_scopes
from locations.models import Location, LocationKind, LocationStatus

from . import selectors


def ghl_connect_url() -> str:
    """The GHL install URL when the integration is installed and configured, else ""."""
    if not (settings.GHL_CLIENT_ID and settings.GHL_CLIENT_SECRET):
        return ""
    try:
        return reverse("ghl-connect")
    except NoReverseMatch:
        return ""


def _steps(workspace, locations) -> dict[str, bool]:
    return {
        "billing": workspace.service_allowed,
        "location": bool(locations),
        "configs": ProductConfig.objects.filter(
            location__workspace=workspace, active=True
        ).exists(),
        "client": ApiClient.objects.filter(location__workspace=workspace, active=True).exists(),
    }


@member_view
def getting_started(request):
    workspace = request.workspace
    locations = list(workspace.locations.live().order_by("created_at", "pk"))
    steps = _steps(workspace, locations)
    return allow_stripe_redirects(
        render(
            request,
            "console/getting_started.html",
            {
                "steps": steps,
                "done_count": sum(steps.values()),
                "locations": locations,
                "ghl_connect_url": ghl_connect_url(),
                "trial_days": settings.TRIAL_DAYS,
                "stripe_billing": billing_client.configured(),
            },
        )
    )


def _with_ghl_health(locations):
    """Locations with their installation and their newest GHL event, in one query: the
    correlated subqueries each read one row through inbound_location_idx."""
    newest = InboundEvent.objects.filter(location=OuterRef("pk"), provider=Provider.GHL).order_by(
        "-received_at", "-pk"
    )
    return locations.select_related("installation").annotate(
        last_event_at=Subquery(newest.values("received_at")[:1]),
        last_event_type=Subquery(newest.values("event_type")[:1]),
        last_event_status=Subquery(newest.values("status")[:1]),
    )


def token_state(location: Location, now) -> tuple[str, str]:
    """(badge class, words) for a GHL location's OAuth tokens on the Locations page."""
    installation = getattr(location, "installation", None)
    if installation is None:
        return "disconnected", "no tokens"
    if not installation.active:
        return "disconnected", "revoked"
    if installation.ghl_inactive_since:
        return "pending", "GHL says the location is not active"
    if installation.refresh_failures:
        return "pending", f"refresh failing ({installation.refresh_failures}×)"
    if installation.expires_at <= now:
        return "pending", "expired, refresh due"
    return "ok", "ok"


def reconciliation_words(location: Location) -> str:
    """What the last reconciliation of a GHL location found (integrations_ghl.reconcile)."""
    installation = getattr(location, "installation", None)
    found = installation.reconcile_result if installation else {}
    if installation is None or installation.reconciled_at is None:
        return "Not reconciled yet" + (
            f" (last try failed: {found['error']})" if found.get("error") else ""
        )
    words = (
        f"checked {found.get('checked', 0)} paid invoices and orders, recovered "
        f"{found.get('recovered', 0)} missed ({found.get('granted', 0)} lines granted), "
        f"{found.get('credits_revoked', 0)} credits taken back by refunds"
    )
    if found.get("error"):
        words += f"; the last try since failed: {found['error']}"
    return words


def needs_reconnect(location: Location) -> bool:
    """A GHL location whose app was uninstalled or whose tokens are gone or revoked."""
    if location.kind != LocationKind.GHL or location.status == LocationStatus.REMOVED:
        return False
    installation = getattr(location, "installation", None)
    return (
        location.status == LocationStatus.DISCONNECTED
        or installation is None
        or not installation.active
    )


@member_view
def location_list(request):
    now = timezone.now()
    locations = list(
        _with_ghl_health(request.workspace.locations.order_by("status", "created_at", "pk"))
    )
    for location in locations:
        if location.kind == LocationKind.GHL:
            location.token_badge, location.token_words = token_state(location, now)
            location.needs_reconnect = needs_reconnect(location)
            installation = getattr(location, "installation", None)
            # Installed before the write-back scopes were asked for: reconnect to grant them.
            location.writeback_missing = missing_scopes(installation) if installation else []
            location.reconciliation = reconciliation_words(location)
    return render(
        request,
        "console/locations.html",
        {"locations": locations, "ghl_connect_url": ghl_connect_url()},
    )


CHART_HEIGHT, BAR, GAP = 100, 12, 10


def chart(weeks: list[selectors.Week]) -> dict:
    """A server-rendered SVG bar chart of credits granted vs used per week: bar geometry for
    the template, which also prints the numbers as a table for screen readers."""
    top = max([1, *(w.granted for w in weeks), *(w.used for w in weeks)])
    bars = []
    for n, week in enumerate(weeks):
        x = n * (2 * BAR + GAP)
        for offset, value, kind in ((0, week.granted, "granted"), (BAR, week.used, "used")):
            height = round(CHART_HEIGHT * max(value, 0) / top)
            bars.append(
                {
                    "x": x + offset,
                    "y": CHART_HEIGHT - height,
                    "height": height,
                    "kind": kind,
                    "value": value,
                    "week": week.start,
                }
            )
    return {
        "bars": bars,
        "weeks": weeks,
        "width": len(weeks) * (2 * BAR + GAP),
        "height": CHART_HEIGHT,
        "bar": BAR,
    }


@member_view
def dashboard(request):
    """Where a sign-in lands once Getting Started is done (viewers included): credits granted
    vs used per week per location, packs expiring soon, low balances, recent refusals and
    webhook health."""
    workspace = request.workspace
    locations = list(workspace.locations.live().order_by("created_at", "pk"))
    if not all(_steps(workspace, locations).values()):
        return redirect("getting-started")
    now = timezone.now()
    weekly = selectors.credits_by_week(workspace, now)
    return render(
        request,
        "console/dashboard.html",
        {
            "charts": [
                (location, chart(weekly[location.pk]))
                for location in locations
                if location.pk in weekly
            ],
            "expiring": selectors.expiring_packs(workspace, now),
            "expiring_days": selectors.EXPIRING_DAYS,
            "low": selectors.low_balances(workspace),
            "refusals": selectors.recent_refusals(workspace),
            "health": selectors.webhook_health(workspace, now),
        },
    )
