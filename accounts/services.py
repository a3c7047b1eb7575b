"""Account writes: sign-up, workspace settings and billing status, members and roles. The only
writer of User, Workspace and Membership rows (besides Django's own auth views)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Membership, Role, User, Workspace


class EmailTaken(Exception):
    """Another account already uses this email address."""


class AlreadyMember(Exception):
    """The invited person already belongs to the workspace."""


class LastOwner(Exception):
    """The change would leave the workspace without an owner."""


def workspace_signup(*, email: str, password: str, workspace_name: str) -> User:
    """A new user who owns a new workspace (billing `none`). Raises EmailTaken.

    An email that was only invited (its user has no password yet) signs up like a new one:
    an invitation must never keep its invitee from creating their own workspace."""
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=password)
            elif user.has_usable_password():
                raise EmailTaken(email)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
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


def workspace_billing_update(*, workspace: Workspace, status: str, trial_ends_at=None) -> None:
    """Record the workspace's billing status (and trial end, when given). Billing decides the
    status (billing.services.billing_set_status); this only stores it."""
    workspace.billing_status = status
    if trial_ends_at is not None:
        workspace.trial_ends_at = trial_ends_at
    workspace.save(update_fields=["billing_status", "trial_ends_at"])


def workspace_subscription_update(
    *, workspace: Workspace, customer_id: str, subscription_id: str, next_invoice_at
) -> None:
    """Record the workspace's Stripe customer and subscription and when Stripe invoices next
    (None: no invoice coming). Billing decides (billing.services); this only stores it."""
    workspace.stripe_customer_id = customer_id
    workspace.stripe_subscription_id = subscription_id
    workspace.next_invoice_at = next_invoice_at
    workspace.save(
        update_fields=["stripe_customer_id", "stripe_subscription_id", "next_invoice_at"]
    )


def workspace_ghl_company_set(*, workspace: Workspace, company_id: str) -> None:
    """Replace the temporary signup agency reference with the real GHL company id (the GHL
    integration calls this on a workspace's first install)."""
    workspace.ghl_company_id = company_id
    workspace.save(update_fields=["ghl_company_id"])


def workspace_owner_ensure(
    *, workspace_name: str, email: str, password: str
) -> tuple[Workspace, User]:
    """Demo data (console's seed_demo): the oldest workspace named `workspace_name` (created when
    missing) with `email` as an owner signing in with `password` (set again on every call)."""
    with transaction.atomic():
        workspace = Workspace.objects.filter(name=workspace_name).order_by("pk").first()
        if workspace is None:
            workspace = Workspace.objects.create(name=workspace_name)
        user = User.objects.filter(email=email).first() or User(email=email)
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(
            user=user, workspace=workspace, defaults={"role": Role.OWNER}
        )
    return workspace, user


def member_invite(*, workspace: Workspace, email: str, role: str) -> tuple[Membership, bool]:
    """Invite a person by email: a pending membership, which grants nothing until they accept
    it (`member_accept`). Unknown emails get a user with an unusable password (they set one
    from the emailed link, or simply sign up). Returns (membership, whether the user is new).
    Raises AlreadyMember when they are a member or already invited."""
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(email=email, password=None)
        elif Membership.objects.filter(user=user, workspace=workspace).exists():
            raise AlreadyMember(email)
        membership = Membership.objects.create(
            user=user, workspace=workspace, role=role, accepted_at=None
        )
    return membership, created


def member_accept(*, membership: Membership) -> None:
    """The invitee accepts a pending invitation: from now on the membership counts."""
    Membership.objects.filter(pk=membership.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )


def member_decline(*, membership: Membership) -> None:
    """The invitee declines a pending invitation: it is gone."""
    Membership.objects.filter(pk=membership.pk, accepted_at__isnull=True).delete()


def _guard_last_owner(membership: Membership) -> None:
    """Lock the workspace's owner rows so two demotions cannot both pass the count. Only
    owners who accepted count: an invited owner may never accept."""
    if membership.role != Role.OWNER or membership.is_pending:
        return
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Role.OWNER, accepted_at__isnull=False)
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
