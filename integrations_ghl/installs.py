"""GHL app `INSTALL` / `UNINSTALL` webhooks (SPEC §5.1).

Registered with the inbox (IntegrationsGhlConfig.ready) as non-atomic handlers: minting a
location token is a network call, which never runs inside a transaction. Both are
idempotent on their own keys: a redelivery or a re-run finds the work done and says so.
Tokens never arrive in these webhooks: they come from the OAuth callback
(integrations_ghl.oauth), or are minted from an agency (company) installation.
"""

from inbox.models import EventReason, EventStatus, InboundEvent
from inbox.processing import Result
from locations.models import Location, LocationKind, LocationStatus

from . import oauth
from .models import Installation, UserType


def _company_installation(company_id: str) -> Installation | None:
    if not company_id:
        return None
    return (
        Installation.objects.select_related("workspace")
        .filter(user_type=UserType.COMPANY, company_id=company_id, active=True)
        .first()
    )


def handle_install(event: InboundEvent) -> Result:
    """Ensure the installed location exists in the workspace that owns the install.

    - location already linked with live tokens → processed / already_linked;
    - the agency (company) is installed in a workspace → a location token is minted from the
      company token and the location linked there (pending until billing allows service)
      → processed / location_linked;
    - agency-level install (no locationId) of a known company → processed / company_installed;
    - nobody installed this company through OAuth yet → ignored / UNKNOWN_COMPANY (the OAuth
      callback, which carries the tokens, links it when it arrives).
    Raises client.GhlError on a transient GHL failure so the task retries.
    """
    payload = event.payload or {}
    location_id = payload.get("locationId") or ""
    company_id = payload.get("companyId") or ""
    if not (location_id or company_id):
        return Result(EventStatus.IGNORED, EventReason.MISSING_IDS)

    company = _company_installation(company_id)
    if location_id:
        existing = Location.objects.filter(location_id=location_id).first()
        installation = Installation.objects.filter(location__location_id=location_id).first()
        if existing and installation and installation.active:
            return Result(EventStatus.PROCESSED, EventReason.ALREADY_LINKED)
        if company is None:
            return Result(EventStatus.IGNORED, EventReason.UNKNOWN_COMPANY)
        if existing and existing.workspace_id != company.workspace_id:
            return Result(EventStatus.IGNORED, EventReason.LOCATION_LINKED_ELSEWHERE)
        try:
            oauth.link_company_location(company=company, location_id=location_id)
        except oauth.GhlAuthError:
            return Result(EventStatus.IGNORED, EventReason.COMPANY_TOKEN_REVOKED)
        return Result(EventStatus.PROCESSED, EventReason.LOCATION_LINKED)

    if company is None:
        return Result(EventStatus.IGNORED, EventReason.UNKNOWN_COMPANY)
    return Result(EventStatus.PROCESSED, EventReason.COMPANY_INSTALLED)


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
        oauth.location_disconnect(location=location, reason="GHL app uninstalled")
        return Result(EventStatus.PROCESSED, EventReason.LOCATION_DISCONNECTED)

    if not company_id:
        return Result(EventStatus.IGNORED, EventReason.MISSING_IDS)
    touched = oauth.company_disconnect(company_id=company_id, reason="GHL app uninstalled")
    if not touched:
        return Result(EventStatus.IGNORED, EventReason.UNKNOWN_COMPANY)
    return Result(EventStatus.PROCESSED, EventReason.COMPANY_DISCONNECTED)
