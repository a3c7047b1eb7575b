"""GHL Marketplace install: authorize URL, linking locations to a workspace, token lifecycle.

Writes about installations live here (views, webhook handlers and tasks call these):

- `install_link` links what a code exchange returned: a Location token links that location; a
  Company (agency) token is stored and location tokens are minted for the locations the
  agency installed Kotally on (GET /oauth/installedLocations: a bulk install's token names
  none), then the install webhooks that waited for the agency are replayed;
- `company_locations_sync` links locations an agency installed Kotally on later;
- `refresh_installation` rotates a token pair, serialized per installation (see its docstring
  for the locking trade-off), minting a new location token from the agency's when a minted
  one cannot be refreshed; `token_source` hands the client a token that refreshes on 401.
- `location_disconnect` / `company_disconnect` (UNINSTALL, revoked grants) keep all data.

Installation rows are this module's own; Location rows and status are written only through
locations.services, the workspace's GHL company id through accounts.services.

Tokens are Fernet-encrypted at rest (kotally.lib.crypto); the plain values only live in memory.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Workspace
from accounts.services import workspace_ghl_company_set
from accounts.signin import PENDING_INSTALL_SESSION_KEY
from inbox.models import EventStatus, InboundEvent, Provider
from inbox.processing import release_later
from kotally.lib.crypto import InvalidToken, decrypt, encrypt
from locations import services as location_services
from locations.models import Location

from . import client
from .client import GhlAuthError, GhlError, GhlLocationInactive
from .models import Installation, UserType

logger = logging.getLogger("kotally.ghl")

STATE_SESSION_KEY = "ghl_oauth_state"
# Owned by accounts, which sends a person signing in or up back to finish the parked install.
PENDING_SESSION_KEY = PENDING_INSTALL_SESSION_KEY
PENDING_TTL_SECONDS = 3600  # time to sign in or sign up after consenting in GHL

__all__ = ["GhlAuthError", "GhlError", "InstallRefused"]


class InstallRefused(Exception):
    """The install cannot be linked to this workspace; the message is shown to the user."""


# --- Authorize ----------------------------------------------------------------------------


def is_configured() -> bool:
    return bool(settings.GHL_CLIENT_ID and settings.GHL_CLIENT_SECRET)


def app_id() -> str:
    """The Marketplace app id: the part of GHL_CLIENT_ID before `-`, as both official SDKs
    derive it (highlevel-api-python src/highlevel/webhook/webhook_manager.py)."""
    return settings.GHL_CLIENT_ID.split("-")[0]


def redirect_uri() -> str:
    return settings.KOTALLY_BASE_URL.rstrip("/") + reverse("ghl-callback")


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(state: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.GHL_CLIENT_ID,
            "redirect_uri": redirect_uri(),
            "scope": " ".join(settings.GHL_SCOPES),
            "state": state,
        }
    )
    return f"{settings.GHL_OAUTH_AUTHORIZE_URL}?{query}"


def exchange_code(code: str) -> dict:
    """Trade the callback's code for tokens (a network call; never inside a transaction)."""
    return client.exchange_code(
        code=code, user_type=settings.GHL_OAUTH_USER_TYPE, redirect_uri=redirect_uri()
    )


# --- Pending installs (consent given, nobody signed in yet) --------------------------------
# The code is single-use and short-lived, so it is exchanged at once; the token answer waits
# server-side (encrypted, in the shared cache) under a random key kept in the session, until
# the person signs in or signs up and /oauth/ghl/finish links it.


def pending_install_save(token: dict) -> str:
    key = secrets.token_urlsafe(24)
    cache.set(f"ghl:pending:{key}", encrypt(json.dumps(token)), timeout=PENDING_TTL_SECONDS)
    return key


def pending_install_peek(key: str) -> dict | None:
    """The stored token answer; None when expired, unknown or unreadable."""
    stored = cache.get(f"ghl:pending:{key}") if key else None
    if not stored:
        return None
    try:
        return json.loads(decrypt(stored))
    except (InvalidToken, ValueError):
        return None


def pending_install_pop(key: str) -> dict | None:
    """The stored token answer, once; None when expired, unknown or unreadable."""
    token = pending_install_peek(key)
    if key:
        cache.delete(f"ghl:pending:{key}")
    return token


def pending_locations(token: dict) -> list[str]:
    """The GHL location ids an install would link, for the confirmation page."""
    if token.get("locationId"):
        return [str(token["locationId"])]
    return [str(x) for x in token.get("approvedLocations") or []]


# --- Linking -------------------------------------------------------------------------------


def _expires_at(token: dict, now: datetime) -> datetime:
    return now + timedelta(seconds=int(token.get("expires_in") or 0))


def _store_tokens(installation: Installation, token: dict, now: datetime) -> None:
    """Put a token answer on the row (not saved). Refresh tokens rotate: a refresh or mint
    answer without one keeps nothing old, because the old one is dead at GHL."""
    installation.access_token_enc = encrypt(token["access_token"])
    installation.refresh_token_enc = encrypt(token.get("refresh_token", ""))
    installation.expires_at = _expires_at(token, now)
    installation.scopes = token.get("scope", "") or ""
    installation.ghl_user_id = token.get("userId", "") or ""
    installation.active = True
    installation.refresh_failures = 0
    installation.last_error = ""
    installation.ghl_inactive_since = None


def _refuse_if_taken(workspace: Workspace, *, location_ids: list[str], company_id: str) -> None:
    """Refuse before anything changes when a location (or the agency) is another tenant's."""
    taken = sorted(
        Location.objects.filter(location_id__in=location_ids)
        .exclude(workspace=workspace)
        .values_list("location_id", flat=True)
    )
    if taken:
        raise InstallRefused(
            "GoHighLevel location(s) " + ", ".join(taken) + " are already connected to another "
            "Kotally workspace. Uninstall Kotally there (or ask its owner) first; nothing was "
            "changed here."
        )
    if (
        company_id
        and Installation.objects.filter(user_type=UserType.COMPANY, company_id=company_id)
        .exclude(workspace=workspace)
        .exists()
    ):
        raise InstallRefused(
            f"The GoHighLevel agency {company_id} is already connected to another Kotally "
            "workspace; nothing was changed here."
        )


def _claim_company_reference(workspace: Workspace, company_id: str) -> None:
    """The first install replaces the temporary signup agency reference with the real id."""
    if company_id and not Installation.objects.filter(workspace=workspace).exists():
        workspace_ghl_company_set(workspace=workspace, company_id=company_id)


def _link_location(
    *, workspace: Workspace, location_id: str, token: dict, company_id: str
) -> Location:
    """Create or reconnect one GHL location with its location token, in one transaction.

    locations.services.location_connect_ghl locks the workspace row first (so a concurrent
    billing change either sees this location or is seen by it), then the location; the
    installation row is locked last.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            location = location_services.location_connect_ghl(
                workspace=workspace, location_id=location_id
            )
            _claim_company_reference(workspace, company_id)
            installation = Installation.objects.select_for_update().filter(
                location=location
            ).first() or Installation(workspace=workspace, location=location)
            installation.user_type = UserType.LOCATION
            installation.company_id = company_id
            _store_tokens(installation, token, now)
            installation.save()
    except location_services.LocationTaken as exc:
        raise InstallRefused(
            f"GoHighLevel location {location_id} is already connected to another "
            "Kotally workspace; nothing was changed here."
        ) from exc
    except IntegrityError as exc:  # another workspace created the same location meanwhile
        raise InstallRefused(
            f"GoHighLevel location {location_id} was just connected elsewhere; nothing was "
            "changed here."
        ) from exc
    return location


def _store_company(*, workspace: Workspace, token: dict) -> Installation:
    company_id = token.get("companyId") or ""
    now = timezone.now()
    with transaction.atomic():
        # Same lock order as _link_location (workspace, then installation rows).
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        _claim_company_reference(workspace, company_id)
        installation = Installation.objects.select_for_update().filter(
            user_type=UserType.COMPANY, company_id=company_id
        ).first() or Installation(
            workspace=workspace, user_type=UserType.COMPANY, company_id=company_id
        )
        _store_tokens(installation, token, now)
        installation.save()
    return installation


def link_company_location(*, company: Installation, location_id: str) -> Location:
    """Mint a location token from the agency installation and link the location to the
    agency's workspace. Network call first, then one short transaction."""
    minted = client.location_token(token_source_for(company), location_id=location_id)
    return _link_location(
        workspace=company.workspace,
        location_id=location_id,
        token=minted,
        company_id=company.company_id,
    )


def _name_locations(locations: list[Location]) -> None:
    """Best effort, after linking: GHL's business name for locations still named by their
    id. A failure only leaves the id as the name; it never undoes the install."""
    for location in locations:
        if location.name != location.location_id:
            continue
        try:
            name = (client.get_location(token_source(location)).get("name") or "")[:255]
        except GhlError as exc:
            logger.info("ghl location name unavailable for %s: %s", location.location_id, exc)
            continue
        if name:
            location_services.location_rename(location=location, name=name)


@dataclass(frozen=True)
class LinkResult:
    locations: list[Location]
    company_id: str


@dataclass(frozen=True)
class _FreshToken:
    """client.TokenSource for a company token just received (nothing stored yet)."""

    token: str
    ghl_id: str

    def access_token(self) -> str:
        return self.token

    def refreshed_token(self, stale: str) -> str:
        raise GhlAuthError("GHL refused the token it just issued")


def _installed_location_ids(source) -> list[str]:
    locations = client.installed_locations(source, app_id=app_id())
    return [str(loc["_id"]) for loc in locations if loc.get("_id")]


def _release_company_events(company_id: str) -> None:
    """Replay, after commit, the webhooks that waited for this agency's install (INSTALL or
    LocationCreate events that arrived before its token was stored)."""
    waiting = InboundEvent.objects.filter(
        provider=Provider.GHL, status=EventStatus.HELD, payload__companyId=company_id
    ).values_list("pk", flat=True)
    release_later(pks=list(waiting))


def install_link(*, workspace: Workspace, token: dict) -> LinkResult:
    """Link a code-exchange answer to `workspace` (the signed-in owner/admin's).

    A Company token's locations are `approvedLocations` when GHL sends them, plus every
    location GET /oauth/installedLocations lists (a bulk install's token names none).
    Raises InstallRefused, before changing anything, when a location or the agency belongs to
    another workspace; client.GhlError when GHL fails (locations linked before the failure
    stay linked; installing again completes the rest).
    """
    company_id = token.get("companyId") or ""
    if not token.get("access_token"):
        raise InstallRefused("GoHighLevel sent no access token; please try the install again.")
    if token.get("userType") == UserType.COMPANY:
        listed = _installed_location_ids(_FreshToken(token["access_token"], company_id))
        wanted = list(
            dict.fromkeys([str(x) for x in token.get("approvedLocations") or []] + listed)
        )
        _refuse_if_taken(workspace, location_ids=wanted, company_id=company_id)
        company = _store_company(workspace=workspace, token=token)
        linked = [link_company_location(company=company, location_id=loc) for loc in wanted]
        _name_locations(linked)
        _release_company_events(company_id)
        return LinkResult(locations=linked, company_id=company_id)

    location_id = token.get("locationId") or ""
    if not location_id:
        raise InstallRefused("GoHighLevel did not say which location was installed.")
    _refuse_if_taken(workspace, location_ids=[location_id], company_id="")
    location = _link_location(
        workspace=workspace, location_id=location_id, token=token, company_id=company_id
    )
    _name_locations([location])
    return LinkResult(locations=[location], company_id=company_id)


def is_linked(location_id: str) -> bool:
    """The GHL location exists with live tokens."""
    return Installation.objects.filter(location__location_id=location_id, active=True).exists()


def company_locations_sync(company: Installation) -> list[Location]:
    """Link the locations the agency installed Kotally on that are not linked yet (a later
    bulk install, future locations); locations of another workspace are left alone.
    Returns those it linked. Network calls; never inside a transaction."""
    installed = _installed_location_ids(token_source_for(company))
    mine_or_new = [
        loc
        for loc in installed
        if not is_linked(loc)
        and not Location.objects.filter(location_id=loc)
        .exclude(workspace=company.workspace_id)
        .exists()
    ]
    linked = [link_company_location(company=company, location_id=loc) for loc in mine_or_new]
    _name_locations(linked)
    return linked


# --- Disconnect ----------------------------------------------------------------------------


def _disconnect(installation: Installation, reason: str) -> None:
    """Inside a transaction holding the installation row: inactive, location disconnected."""
    installation.active = False
    installation.last_error = reason[:500]
    installation.save(update_fields=["active", "last_error", "refresh_failures", "updated_at"])
    if installation.location_id:
        location_services.location_disconnect(location=installation.location)


def location_disconnect(*, location: Location, reason: str) -> None:
    """The location is `disconnected` (unless removed) and its installation inactive; its
    contacts, lots, ledger and events are kept."""
    with transaction.atomic():
        installation = Installation.objects.select_for_update().filter(location=location).first()
        if installation is not None:
            _disconnect(installation, reason)
        else:
            location_services.location_disconnect(location=location)


def company_disconnect(*, company_id: str, reason: str) -> int:
    """Agency-level uninstall: the agency installation and every location installed under
    that company go inactive/disconnected. Returns how many installations were known."""
    with transaction.atomic():
        installations = list(
            Installation.objects.select_for_update().filter(company_id=company_id).order_by("pk")
        )
        for installation in installations:
            _disconnect(installation, reason)
    return len(installations)


# --- Tokens --------------------------------------------------------------------------------


def _minting_company(installation: Installation) -> Installation | None:
    """The live agency installation a location's tokens can be minted from."""
    if installation.user_type != UserType.LOCATION or not installation.company_id:
        return None
    return Installation.objects.filter(
        workspace=installation.workspace_id,
        user_type=UserType.COMPANY,
        company_id=installation.company_id,
        active=True,
    ).first()


def refresh_installation(installation_id: int, *, stale_token: str | None = None) -> Installation:
    """Rotate the installation's token pair, once, however many callers ask at the same time.

    Serialization: the caller takes SELECT ... FOR UPDATE on the installation row and holds
    it ACROSS the HTTP refresh, because GHL kills the old refresh token as soon as it answers:
    two unserialized refreshes would leave one caller with a dead pair. Holding a row lock
    over a network call is the price; it is kept small by using a dedicated, durable
    transaction (never nested in a caller's transaction, so no other lock is held meanwhile),
    locking one row only, and GHL_READ_TIMEOUT bounding the wait.

    After the lock is acquired the row is re-read: if another worker already rotated it (the
    access token differs from `stale_token`, or — with no stale token, the periodic path — it
    is no longer close to expiry), that pair is returned without calling GHL.

    A location token that cannot be refreshed (refused, or minted without a refresh token) is
    minted again from the agency's token when the agency is installed; otherwise, and when
    minting is refused too, the installation goes inactive and the location `disconnected`
    (GhlAuthError). GHL's `Location is not active` (GhlLocationInactive) keeps everything and
    shows the reason; the periodic refresh then tries that installation once a day only.
    A transient failure counts in `refresh_failures`/`last_error` and re-raises GhlError.
    """
    failure: GhlError | None = None
    remint_from: Installation | None = None
    now = timezone.now()
    with transaction.atomic(durable=True):
        installation = Installation.objects.select_for_update().get(pk=installation_id)
        if not installation.active:
            raise GhlAuthError("the GHL installation is inactive; reconnect GoHighLevel")
        if stale_token is not None:
            if current_access_token(installation) != stale_token:
                return installation
        elif installation.expires_at > now + timedelta(seconds=settings.GHL_REFRESH_MARGIN_SECONDS):
            return installation
        refresh_token = decrypt(installation.refresh_token_enc)
        try:
            if not refresh_token:
                raise GhlAuthError("no refresh token (a minted location token)")
            token = client.refresh(refresh_token=refresh_token, user_type=installation.user_type)
        except GhlLocationInactive as exc:
            _location_inactive(installation, exc, now)
            failure = exc
        except GhlAuthError as exc:
            installation.refresh_failures += 1
            remint_from = _minting_company(installation)
            if remint_from is None:
                _disconnect(installation, f"token refresh refused: {exc}")
                failure = exc
            else:
                # The pair is dead at GHL: forget it, so every caller goes to minting.
                installation.refresh_token_enc = encrypt("")
                installation.last_error = f"token refresh refused, minting a new one: {exc}"[:500]
                installation.save(
                    update_fields=[
                        "refresh_token_enc",
                        "refresh_failures",
                        "last_error",
                        "updated_at",
                    ]
                )
        except GhlError as exc:
            installation.refresh_failures += 1
            installation.last_error = f"token refresh failed: {exc}"[:500]
            installation.save(update_fields=["refresh_failures", "last_error", "updated_at"])
            failure = exc
        else:
            _store_tokens(installation, token, now)
            installation.refreshed_at = now
            installation.save()
    # Raised (and minting done) after the commit, so the bookkeeping above is kept and the
    # agency token's own refresh runs in a transaction of its own.
    if failure is not None:
        raise failure
    if remint_from is not None:
        return _remint(installation, remint_from)
    return installation


def _location_inactive(installation: Installation, exc: GhlLocationInactive, now) -> None:
    installation.refresh_failures += 1
    installation.ghl_inactive_since = installation.ghl_inactive_since or now
    installation.last_error = str(exc)[:500]
    installation.save(
        update_fields=["refresh_failures", "ghl_inactive_since", "last_error", "updated_at"]
    )


def _remint(installation: Installation, company: Installation) -> Installation:
    """Mint a new location token from the agency's and store it; the location's status is
    left as it is (a removed location stays removed). A refusal disconnects the location."""
    location = installation.location
    try:
        minted = client.location_token(token_source_for(company), location_id=location.location_id)
    except GhlLocationInactive as exc:
        with transaction.atomic():
            locked = Installation.objects.select_for_update().get(pk=installation.pk)
            _location_inactive(locked, exc, timezone.now())
        raise
    except GhlAuthError as exc:
        location_disconnect(location=location, reason=f"new location token refused: {exc}")
        raise
    now = timezone.now()
    with transaction.atomic():
        locked = Installation.objects.select_for_update().get(pk=installation.pk)
        _store_tokens(locked, minted, now)
        locked.refreshed_at = now
        locked.save()
    return locked


def current_access_token(installation: Installation) -> str:
    """The plain access token (pass it as `stale_token` to force a refresh of this pair)."""
    return decrypt(installation.access_token_enc)


def refresh_expiring(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic sweep: refresh every active installation close to expiry."""
    now = now or timezone.now()
    due = (
        Installation.objects.filter(
            active=True,
            expires_at__lte=now + timedelta(seconds=settings.GHL_REFRESH_MARGIN_SECONDS),
        )
        # GHL said the location is not active: ask again once a day, not every sweep.
        .exclude(ghl_inactive_since__gt=now - timedelta(days=1))
        .values_list("pk", flat=True)
    )
    counts = {"refreshed": 0, "failed": 0}
    for pk in list(due):
        try:
            refresh_installation(pk)
            counts["refreshed"] += 1
        except GhlError as exc:
            logger.warning("ghl token refresh failed installation=%s error=%s", pk, exc)
            counts["failed"] += 1
    return counts


@dataclass(frozen=True)
class InstallationTokens:
    """client.TokenSource backed by one Installation row."""

    installation_id: int
    ghl_id: str

    def access_token(self) -> str:
        installation = Installation.objects.get(pk=self.installation_id)
        if not installation.active:
            raise GhlAuthError("the GHL installation is inactive; reconnect GoHighLevel")
        if installation.expires_at <= timezone.now() + timedelta(seconds=60):
            installation = refresh_installation(self.installation_id)
        return current_access_token(installation)

    def refreshed_token(self, stale: str) -> str:
        return current_access_token(refresh_installation(self.installation_id, stale_token=stale))


def token_source_for(installation: Installation) -> InstallationTokens:
    ghl_id = (
        installation.location.location_id if installation.location_id else (installation.company_id)
    )
    return InstallationTokens(installation_id=installation.pk, ghl_id=ghl_id)


def token_source(location: Location) -> InstallationTokens:
    """Tokens for API calls about `location`; GhlAuthError when it is not connected."""
    installation = Installation.objects.filter(location=location, active=True).first()
    if installation is None:
        raise GhlAuthError(f"location {location.location_id} has no active GHL installation")
    return InstallationTokens(installation_id=installation.pk, ghl_id=location.location_id)
