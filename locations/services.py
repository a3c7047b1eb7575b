from django.db import transaction

from accounts.models import Workspace
from kotally.lib.ids import new_loc_id

from .models import Location, LocationKind, LocationStatus


class BillingRequired(Exception):
    """The API path needs billing to be active or trialing first."""


def api_location_create(*, workspace: Workspace, name: str = "", location_id: str = "") -> Location:
    """Create a standalone API location (Getting Started, "Use the Kotally API instead")."""
    if not workspace.service_allowed:
        raise BillingRequired("Start a trial or subscribe before using the API.")
    with transaction.atomic():
        return Location.objects.create(
            workspace=workspace,
            location_id=location_id or new_loc_id(),
            kind=LocationKind.API,
            name=name or f"{workspace.name} (API)",
            status=LocationStatus.ACTIVE,
        )
