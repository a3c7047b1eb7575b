"""GHL app lifecycle webhooks: `INSTALL`, `UNINSTALL`, `LocationCreate` (SPEC §5.1; shapes in
docs/webhook events/AppInstall.md, AppUninstall.md and LocationCreate.md of GHL's docs).

Registered with the inbox (IntegrationsGhlConfig.ready) as non-atomic, never-held-for-billing
handlers: minting a location token is a network call, which never runs inside a transaction.
All are idempotent on their own keys: a redelivery or a re-run finds the work done and says
so. Tokens never arrive in these webhooks: they come from the OAuth callback
(integrations_ghl.installations), or are minted from an agency (company) installation.

An install webhook often arrives before the OAuth callback that carries its tokens: it is
held (AWAITING_LOCATION / AWAITING_COMPANY) and replayed when the location is linked or the
agency's token is stored, never dropped.
"""

from inbox.models import EventReason, EventStatus, InboundEvent, Provider
from inbox.processing import InvalidPayload, Result, release_later
from locations.models import Location, LocationKind, LocationStatus

from . import client, installations
from .models import Installation, UserType


def _company_installation(company_id: str) -> Installation | None:
    if not company_id:
        return None
    return (
        Installation.objects.select_related("workspace")
        .filter(user_type=UserType.COMPANY, company_id=company_id, active=True)
        .first()
    )


def _company_of(payload: dict, location_id: str) -> str:
    """`companyId`, or — for an install "via future locations", which may come without it
    (AppInstall.md) — the agency a stored LocationCreate named for this location."""
    if payload.get("companyId"):
        return str(payload["companyId"])
    if not location_id:
        return ""
    created = InboundEvent.objects.filter(
        provider=Provider.GHL, event_type="LocationCreate", location_ref=location_id
    ).values_list("payload__companyId", flat=True)
    return next((str(company) for company in created if company), "")


def _elsewhere(location_id: str, company: Installation) -> bool:
    return (
        Location.objects.filter(location_id=location_id)
        .exclude(workspace=company.workspace_id)
        .exists()
    )


def _link(company: Installation, location_id: str) -> Result:
    try:
        installations.link_company_location(company=company, location_id=location_id)
    except client.GhlLocationInactive:
        return Result(EventStatus.IGNORED, EventReason.GHL_LOCATION_INACTIVE)
    except client.GhlAuthError:
        return Result(EventStatus.IGNORED, EventReason.COMPANY_TOKEN_REVOKED)
    return Result(EventStatus.PROCESSED, EventReason.LOCATION_LINKED)


def handle_install(event: InboundEvent) -> Result:
    """Ensure the installed location is linked to the workspace that owns the install.

    - location already linked with live tokens → processed / already_linked;
    - its agency (company) is installed in a workspace → a location token is minted from the
      company token and the location linked there (pending until billing allows service)
      → processed / location_linked;
    - agency-level install (no locationId) of a known agency → the locations it installed
      Kotally on are linked → processed / company_installed;
    - otherwise the OAuth callback that carries the tokens has not run yet → held, replayed
      when the location is linked (AWAITING_LOCATION) or the agency's token is stored
      (AWAITING_COMPANY).
    Raises client.GhlError on a transient GHL failure so the task retries.
    """
    payload = event.payload or {}
    location_id = str(payload.get("locationId") or "")
    company_id = _company_of(payload, location_id)
    if not (location_id or company_id):
        return Result(EventStatus.IGNORED, EventReason.MISSING_IDS)
    company = _company_installation(company_id)
    if location_id:
        if installations.is_linked(location_id):
            return Result(EventStatus.PROCESSED, EventReason.ALREADY_LINKED)
        if company is None:
            return Result(EventStatus.HELD, EventReason.AWAITING_LOCATION)
        if _elsewhere(location_id, company):
            return Result(EventStatus.IGNORED, EventReason.LOCATION_LINKED_ELSEWHERE)
        return _link(company, location_id)

    if company is None:
        return Result(EventStatus.HELD, EventReason.AWAITING_COMPANY)
    try:
        installations.company_locations_sync(company)
    except client.GhlAuthError:
        return Result(EventStatus.IGNORED, EventReason.COMPANY_TOKEN_REVOKED)
    return Result(EventStatus.PROCESSED, EventReason.COMPANY_INSTALLED)


def handle_location_create(event: InboundEvent) -> Result:
    """A new sub-account of an agency (agency-level apps only; the location is in `id`, not
    `locationId`). When GHL lists Kotally as installed on it (an install to future locations)
    it is linked like an INSTALL; otherwise ignored / NOT_INSTALLED, and an INSTALL for it
    that came without `companyId` is replayed (it can now find its agency here)."""
    payload = event.payload or {}
    location_id = str(payload.get("id") or "")
    if not location_id:
        raise InvalidPayload("LocationCreate has no id")
    company = _company_installation(str(payload.get("companyId") or ""))
    if company is None:
        return Result(EventStatus.HELD, EventReason.AWAITING_COMPANY)
    if installations.is_linked(location_id):
        return Result(EventStatus.PROCESSED, EventReason.ALREADY_LINKED)
    if _elsewhere(location_id, company):
        return Result(EventStatus.IGNORED, EventReason.LOCATION_LINKED_ELSEWHERE)
    try:
        installed = client.installed_locations(
            installations.token_source_for(company),
            app_id=installations.app_id(),
            location_id=location_id,
        )
    except client.GhlAuthError:
        return Result(EventStatus.IGNORED, EventReason.COMPANY_TOKEN_REVOKED)
    if not any(str(loc.get("_id")) == location_id for loc in installed):
        release_later(location_ref=location_id)
        return Result(EventStatus.IGNORED, EventReason.NOT_INSTALLED)
    return _link(company, location_id)


def handle_uninstall(event: InboundEvent) -> Result:
    """Mark the location (or every location of an agency) `disconnected`; keep all data.

    The installation goes inactive (its tokens are dead at GHL). A `removed` location stays
    removed. An unknown location/company is ignored with UNKNOWN_LOCATION / UNKNOWN_COMPANY.
    """
    payload = event.payload or {}
    location_id = payload.get("locationId") or ""
    company_id = payload.get("companyId") or ""
    if location_id:
        location = Location.objects.filter(location_id=location_id, kind=LocationKind.GHL).first()
        if location is None:
            return Result(EventStatus.IGNORED, EventReason.UNKNOWN_LOCATION)
        if location.status in (LocationStatus.DISCONNECTED, LocationStatus.REMOVED):
            return Result(EventStatus.IGNORED, EventReason.ALREADY_DISCONNECTED)
        installations.location_disconnect(location=location, reason="GHL app uninstalled")
        return Result(EventStatus.PROCESSED, EventReason.LOCATION_DISCONNECTED)

    if not company_id:
        return Result(EventStatus.IGNORED, EventReason.MISSING_IDS)
    touched = installations.company_disconnect(company_id=company_id, reason="GHL app uninstalled")
    if not touched:
        return Result(EventStatus.IGNORED, EventReason.UNKNOWN_COMPANY)
    return Result(EventStatus.PROCESSED, EventReason.COMPANY_DISCONNECTED)
