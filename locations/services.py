"""Location writes. This module is the only writer of Location rows and of their status.

Status moves only along `TRANSITIONS`; anything else raises IllegalTransition (a bug, not a
business refusal). Who calls what:

- Getting Started / Locations page: `api_location_create`, `api_location_ensure`,
  `location_remove`, `stripe_fallback_update`;
- the GHL install (integrations_ghl.installations): `location_connect_ghl`, `location_disconnect`,
  `location_rename`;
- billing: `locations_activate_pending` when service becomes allowed.

Apps above `locations` react through `signals`: a removal (the API deactivates the location's
clients), any change in the locations that count for billing (billing updates the Stripe
quantity) and a GHL link (the inbox replays events that waited for it), so this module
imports none of them.
"""

from django.db import transaction

from accounts.models import Workspace
from kotally.lib.crypto import encrypt
from kotally.lib.ids import new_loc_id

from .models import BILLED, Location, LocationKind, LocationStatus
from .signals import billed_locations_changed, location_linked, location_removed

S = LocationStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.ACTIVE, S.DISCONNECTED, S.REMOVED}),
    # → pending: an API location taken over by a GHL install while billing is off.
    S.ACTIVE: frozenset({S.PENDING, S.DISCONNECTED, S.REMOVED}),
    # Reconnecting (GHL install again) starts it pending or active, by billing.
    S.DISCONNECTED: frozenset({S.PENDING, S.ACTIVE, S.REMOVED}),
    # A removed location comes back only through a GHL install; an uninstall leaves it removed.
    S.REMOVED: frozenset({S.PENDING, S.ACTIVE}),
}


class IllegalTransition(ValueError):
    """A status change outside TRANSITIONS: a bug in the caller."""


class BillingRequired(Exception):
    """The API path needs billing to be active or trialing first."""


class LocationTaken(Exception):
    """The GHL location id is already another workspace's location."""


def _set_status(location: Location, status: str) -> None:
    """Move a locked row to `status` (saved by the caller, in the same transaction)."""
    if status != location.status and status not in TRANSITIONS[location.status]:
        raise IllegalTransition(f"location {location.location_id}: {location.status} → {status}")
    if (location.status in BILLED) != (status in BILLED):
        billed_locations_changed.send(sender=Location, workspace_id=location.workspace_id)
    location.status = status


def _create(**fields) -> Location:
    location = Location.objects.create(**fields)
    billed_locations_changed.send(sender=Location, workspace_id=location.workspace_id)
    return location


def _status_by_billing(workspace: Workspace) -> str:
    # Pending until billing allows service; locations_activate_pending activates them later.
    return LocationStatus.ACTIVE if workspace.service_allowed else LocationStatus.PENDING


# --- API locations ------------------------------------------------------------------------------


def api_location_create(
    *,
    workspace: Workspace,
    name: str = "",
    location_id: str = "",
    pending_without_billing: bool = False,
) -> Location:
    """Create a standalone API location, active. Raises BillingRequired when the workspace's
    billing does not allow service — unless `pending_without_billing` (demo data), which
    creates it pending instead, to go active with billing."""
    if not workspace.service_allowed and not pending_without_billing:
        raise BillingRequired("Start a trial or subscribe before using the API.")
    with transaction.atomic():
        return _create(
            workspace=workspace,
            location_id=location_id or new_loc_id(),
            kind=LocationKind.API,
            name=name or f"{workspace.name} (API)",
            status=_status_by_billing(workspace),
        )


def api_location_ensure(*, workspace: Workspace) -> tuple[Location, bool]:
    """Getting Started, "Use the Kotally API instead": the workspace's live API location,
    created when it has none, so a double submit does not create (and bill) a second one.
    Returns (location, created). Raises BillingRequired, even when an API location exists:
    the API path needs billing."""
    if not workspace.service_allowed:
        raise BillingRequired("Start a trial or subscribe before using the API.")
    with transaction.atomic():
        # Two submits at once queue here, so the second finds the first one's location.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        existing = (
            workspace.locations.live()
            .filter(kind=LocationKind.API)
            .order_by("created_at", "pk")
            .first()
        )
        if existing is not None:
            return existing, False
        return api_location_create(workspace=workspace), True


# --- GHL locations ------------------------------------------------------------------------------


def location_connect_ghl(*, workspace: Workspace, location_id: str) -> Location:
    """Create or reconnect the GHL location `location_id` in `workspace`: a new one, or one not
    active (uninstalled, revoked, removed) or not yet GHL, starts pending or active by
    billing; an active GHL one is left as it is.

    Locks the workspace row first so a concurrent billing change (which activates pending
    locations) either sees this location or is seen by it. Sends `signals.location_linked`
    (events that waited for the location are replayed after commit). Joins the caller's
    transaction, so the caller's installation write commits with it. Raises LocationTaken
    when the id is another workspace's; IntegrityError when another workspace creates it at
    the same moment.
    """
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        location = Location.objects.select_for_update().filter(location_id=location_id).first()
        if location is not None and location.workspace_id != workspace.pk:
            raise LocationTaken(location_id)
        if location is None:
            location = _create(
                workspace=workspace,
                location_id=location_id,
                kind=LocationKind.GHL,
                name=location_id,
                status=_status_by_billing(workspace),
            )
        elif location.status != LocationStatus.ACTIVE or location.kind != LocationKind.GHL:
            location.kind = LocationKind.GHL
            _set_status(location, _status_by_billing(workspace))
            location.save(update_fields=["kind", "status"])
        location_linked.send(sender=Location, location=location)
        return location


def location_disconnect(*, location: Location) -> bool:
    """Mark a location `disconnected` (GHL app uninstalled, tokens revoked); its contacts,
    lots, ledger and events are kept. A removed location stays removed. Returns False when
    nothing changed. Joins the caller's transaction (the installation going inactive)."""
    with transaction.atomic():
        locked = Location.objects.select_for_update().filter(pk=location.pk).first()
        if locked is None or locked.status in (S.REMOVED, S.DISCONNECTED):
            return False
        _set_status(locked, S.DISCONNECTED)
        locked.save(update_fields=["status"])
    location.status = S.DISCONNECTED
    return True


def location_rename(*, location: Location, name: str) -> None:
    """Set the display name (GHL's business name, read after an install)."""
    name = name[:255]
    Location.objects.filter(pk=location.pk).update(name=name)
    location.name = name


def location_details_update(
    *, location: Location, name: str, cancellation_window_hours: int | None
) -> None:
    """Support staff's edit of a location's name and its own cancellation window (None: the
    workspace's applies). Status and secrets are not touched."""
    location.name = name[:255]
    location.cancellation_window_hours = cancellation_window_hours
    location.save(update_fields=["name", "cancellation_window_hours"])


# --- billing ------------------------------------------------------------------------------------


def locations_activate_pending(*, workspace: Workspace) -> int:
    """Pending locations of the workspace go active (billing now allows service). Joins the
    caller's transaction. Returns how many changed (pending → active is in TRANSITIONS).
    Saved one by one, so the model signals fire (the API's client cache listens to them)."""
    pending = list(workspace.locations.filter(status=S.PENDING))
    for location in pending:
        location.status = S.ACTIVE
        location.save(update_fields=["status"])
    return len(pending)


# --- admin changes ------------------------------------------------------------------------------


def location_remove(*, location: Location) -> bool:
    """Mark a location removed: it stops counting for billing and every API or GHL write for it
    is refused with LOCATION_INACTIVE. `signals.location_removed` is sent in the same
    transaction (its API clients are deactivated, so their tokens stop working at once). Data
    is kept. Returns False when it was already removed."""
    with transaction.atomic():
        locked = Location.objects.select_for_update().get(pk=location.pk)
        if locked.status == S.REMOVED:
            return False
        _set_status(locked, S.REMOVED)
        locked.save(update_fields=["status"])
        location_removed.send(sender=Location, location=locked)
    location.status = S.REMOVED
    return True


class StripeSecretRequired(ValueError):
    """The merchant Stripe fallback cannot be on without a webhook signing secret."""


KEEP = None  # a secret argument left as KEEP leaves the stored value unchanged


def stripe_fallback_update(
    *,
    location: Location,
    enabled: bool,
    webhook_secret: str | None = KEEP,
    restricted_key: str | None = KEEP,
) -> Location:
    """Set a location's merchant Stripe fallback (SPEC §6.2). Each secret is KEEP (leave the
    stored one), "" (clear it) or a new plain value, stored Fernet-encrypted. Raises
    StripeSecretRequired, changing nothing, when the result would be on without a signing
    secret: the webhook endpoint could not verify a single event."""
    with transaction.atomic():
        locked = Location.objects.select_for_update().get(pk=location.pk)
        if webhook_secret is not KEEP:
            locked.stripe_webhook_secret_enc = encrypt(webhook_secret)
        if restricted_key is not KEEP:
            locked.stripe_restricted_key_enc = encrypt(restricted_key)
        if enabled and not locked.stripe_webhook_secret_enc:
            raise StripeSecretRequired("Turning the Stripe fallback on needs a signing secret.")
        locked.stripe_fallback_enabled = enabled
        locked.save(
            update_fields=[
                "stripe_fallback_enabled",
                "stripe_webhook_secret_enc",
                "stripe_restricted_key_enc",
            ]
        )
    return locked
