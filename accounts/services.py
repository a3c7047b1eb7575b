"""Account writes: sign-up, workspace settings, members and roles."""

from django.db import IntegrityError, transaction

from .models import Membership, Role, User, Workspace


class EmailTaken(Exception):
    """Another account already uses this email address."""


class AlreadyMember(Exception):
    """The invited person already belongs to the workspace."""


class LastOwner(Exception):
    """The change would leave the workspace without an owner."""


def workspace_signup(*, email: str, password: str, workspace_name: str) -> User:
    """A new user who owns a new workspace (billing `none`). Raises EmailTaken."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
            workspace = Workspace.objects.create(name=workspace_name)
            Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    except IntegrityError as exc:  # the unique email, when two sign-ups race
        raise EmailTaken(email) from exc
    return user


def workspace_settings_update(
    *, workspace: Workspace, cancellation_window_hours: int, restore_on_cancel: bool
) -> None:
    workspace.cancellation_window_hours = cancellation_window_hours
    workspace.restore_on_cancel = restore_on_cancel
    workspace.save(update_fields=["cancellation_window_hours", "restore_on_cancel"])


def member_invite(*, workspace: Workspace, email: str, role: str) -> tuple[Membership, bool]:
    """Add a person by email. Unknown emails get a user with an unusable password (they set
    one from the emailed link). Returns (membership, whether the user is new)."""
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(email=email, password=None)
        elif Membership.objects.filter(user=user, workspace=workspace).exists():
            raise AlreadyMember(email)
        membership = Membership.objects.create(user=user, workspace=workspace, role=role)
    return membership, created


def _guard_last_owner(membership: Membership) -> None:
    """Lock the workspace's owner rows so two demotions cannot both pass the count."""
    if membership.role != Role.OWNER:
        return
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Role.OWNER)
        .order_by("pk")
    )
    if len(owners) <= 1:
        raise LastOwner("A workspace needs at least one owner.")


def member_set_role(*, membership: Membership, role: str) -> None:
    """Change a member's role. Raises LastOwner when demoting the only owner."""
    with transaction.atomic():
        if role != Role.OWNER:
            _guard_last_owner(membership)
        membership.role = role
        membership.save(update_fields=["role"])


def member_remove(*, membership: Membership) -> None:
    """Remove a member from the workspace (the user account stays). Raises LastOwner."""
    with transaction.atomic():
        _guard_last_owner(membership)
        membership.delete()
