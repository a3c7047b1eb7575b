"""Who may see and do what in the admin UI (SPEC §4).

Every admin view is wrapped in `member_view`: it resolves the signed-in user's active
workspace (chosen in the session, else the first membership) and checks the role. Reads are
open to every member; unsafe methods (POST) need `change` (admin by default; owner for billing
and users). Views then look every object up *within* `request.workspace`, so an id from
another workspace is simply not found (404), never forbidden-but-present.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from .models import Membership, Role

ROLE_RANK = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}
SESSION_KEY = "kotally_workspace"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def memberships_of(user):
    """The workspaces a user belongs to: accepted memberships only (an invitation grants
    nothing until its invitee accepts it)."""
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user, accepted_at__isnull=False)
        .order_by("created_at", "pk")
    )


def invitations_of(user):
    """The user's pending invitations, oldest first."""
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user, accepted_at__isnull=True)
        .order_by("created_at", "pk")
    )


def active_membership(request) -> Membership | None:
    """The membership of the workspace picked in the session, else the user's first one."""
    memberships = list(memberships_of(request.user))
    wanted = request.session.get(SESSION_KEY)
    chosen = next((m for m in memberships if m.workspace.public_id == wanted), None)
    return chosen or (memberships[0] if memberships else None)


def in_workspace(request, queryset, **lookup):
    """The object matching `lookup` whose location belongs to the active workspace, else 404:
    the one lookup every admin view uses, so no id reaches across workspaces."""
    return get_object_or_404(queryset, location__workspace=request.workspace, **lookup)


def has_role(membership: Membership, role: str) -> bool:
    return ROLE_RANK[membership.role] >= ROLE_RANK[role]


def member_view(view=None, *, change: str = Role.ADMIN, read: str = Role.VIEWER):
    """Decorate an admin view: sign-in, active workspace, role for reads and for writes."""

    def decorator(func):
        @login_required
        @wraps(func)
        def wrapped(request, *args, **kwargs):
            membership = active_membership(request)
            if membership is None:
                if invitations_of(request.user).exists():
                    return redirect("invitations")
                return render(request, "accounts/no_workspace.html", status=403)
            needed = read if request.method in SAFE_METHODS else change
            if not has_role(membership, needed):
                raise PermissionDenied(f"This needs the {needed} role.")
            request.membership = membership
            request.workspace = membership.workspace
            return func(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator
