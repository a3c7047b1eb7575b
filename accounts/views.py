import hashlib
import logging
import smtplib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from kotally.lib import throttle
from kotally.lib.confirm import confirm_page

from . import services
from .emails import send_invitation
from .forms import (
    InvitedAwarePasswordResetForm,
    InviteForm,
    RoleForm,
    SignInForm,
    SignupForm,
    WorkspaceSettingsForm,
    WorkspaceSwitchForm,
)
from .models import Membership, Role
from .permissions import SESSION_KEY, has_role, invitations_of, member_view, memberships_of
from .signin import after_sign_in, safe_next

logger = logging.getLogger("kotally.accounts")


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")  # which sends a workspace not set up to Getting Started
    return redirect("login")


class SignInView(auth_views.LoginView):
    """Django's sign-in, which already honours a safe `next`, plus the pending GHL install."""

    redirect_authenticated_user = True
    form_class = SignInForm

    def get_success_url(self):
        return after_sign_in(self.request, self.get_default_redirect_url())


def _too_many(request, form_name: str):
    """The 429 page once one client address has posted `form_name` too often this hour."""
    key = f"{form_name}:{throttle.client_ip(request)}"
    if throttle.allow(key, limit=settings.ACCOUNT_FORMS_PER_IP_PER_HOUR, window_seconds=3600):
        return None
    return render(request, "registration/locked_out.html", status=429)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, which answers the same whether or not the email has an account, with
    limits: per client address on the form, and per email address on the emails sent."""

    form_class = InvitedAwarePasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def post(self, request, *args, **kwargs):
        return _too_many(request, "password-reset") or super().post(request, *args, **kwargs)

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        digest = hashlib.sha256(email.encode()).hexdigest()
        limit = settings.PASSWORD_RESET_EMAILS_PER_HOUR
        if not throttle.allow(f"reset-email:{digest}", limit=limit, window_seconds=3600):
            # The same answer as a sent email: the page must not tell the two apart.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def signup(request):
    if request.user.is_authenticated:
        return redirect(after_sign_in(request, reverse("getting-started")))
    if request.method == "POST" and (refused := _too_many(request, "signup")):
        return refused
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.workspace_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                workspace_name=form.cleaned_data["workspace_name"],
            )
        except services.EmailTaken:
            form.add_error("email", "An account with this email already exists. Sign in.")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Kotally: your workspace is ready.")
            return redirect(after_sign_in(request, reverse("getting-started")))
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": safe_next(request)},
        status=_status(form),
    )


def _status(form) -> int:
    """Re-rendered forms with errors answer 400, so tests and clients can tell."""
    return 400 if form.is_bound and form.errors else 200


@require_POST
@member_view(change=Role.VIEWER)
def switch_workspace(request):
    form = WorkspaceSwitchForm(request.POST)
    wanted = form.data.get("workspace", "")
    if not any(m.workspace.public_id == wanted for m in memberships_of(request.user)):
        raise Http404("No such workspace.")
    request.session[SESSION_KEY] = wanted
    return redirect("getting-started")


@member_view
def settings_page(request):
    return _render_settings(request)


def _render_settings(request, settings_form=None, invite_form=None, status=200):
    workspace = request.workspace
    settings_form = settings_form or WorkspaceSettingsForm(
        initial={
            "cancellation_window_hours": workspace.cancellation_window_hours,
            "restore_on_cancel": workspace.restore_on_cancel,
        }
    )
    members = workspace.memberships.select_related("user").order_by("created_at", "pk")
    return render(
        request,
        "accounts/settings.html",
        {
            "settings_form": settings_form,
            "invite_form": invite_form or InviteForm(),
            "members": members,
            "role_choices": Role.choices,
            "is_owner": has_role(request.membership, Role.OWNER),
            "locations": workspace.locations.live().order_by("created_at", "pk"),
        },
        status=status,
    )


@require_POST
@member_view
def settings_save(request):
    form = WorkspaceSettingsForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, settings_form=form, status=400)
    services.workspace_settings_update(workspace=request.workspace, **form.cleaned_data)
    messages.success(request, "Settings saved.")
    return redirect("settings")


@require_POST
@member_view(change=Role.OWNER)
def member_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            membership, created = services.member_invite(
                workspace=request.workspace, **form.cleaned_data
            )
        except services.AlreadyMember:
            form.add_error(
                "email", "This person is already a member of the workspace (or invited)."
            )
        else:
            try:
                send_invitation(
                    request=request,
                    user=membership.user,
                    workspace=request.workspace,
                    invited_by=request.user,
                    needs_password=created or not membership.user.has_usable_password(),
                )
            except (smtplib.SMTPException, OSError):
                logger.exception("invitation email to member %s failed", membership.pk)
                messages.warning(
                    request,
                    f"Invited {membership.user.email} as {membership.role}, "
                    "but the invitation email could not be sent. Once signed in (new people "
                    "set a password with “Forgot password”), they can accept it under "
                    "Invitations.",
                )
            else:
                messages.success(request, f"Invited {membership.user.email} as {membership.role}.")
            return redirect("settings")
    return _render_settings(request, invite_form=form, status=400)


def _member(request, membership_id) -> Membership:
    return get_object_or_404(Membership, pk=membership_id, workspace=request.workspace)


@require_POST
@member_view(change=Role.OWNER)
def member_role(request, membership_id):
    membership = _member(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, admin or viewer.")
        return redirect("settings")
    try:
        services.member_set_role(membership=membership, role=form.cleaned_data["role"])
    except services.LastOwner as exc:
        messages.error(request, f"{exc} Make someone else an owner first.")
    else:
        messages.success(request, f"{membership.user.email} is now {membership.role}.")
    return redirect("settings")


@require_http_methods(["GET", "POST"])
@member_view(change=Role.OWNER)
def member_remove(request, membership_id):
    membership = _member(request, membership_id)
    if request.method == "GET":
        return confirm_page(
            request,
            title=f"Remove {membership.user.email}?",
            button="Remove from workspace",
            back=reverse("settings"),
            happens=[
                f"{membership.user.email} can no longer sign in to this workspace.",
                "What they did stays in the ledger under their name.",
                "You can invite them again later.",
            ],
        )
    try:
        services.member_remove(membership=membership)
    except services.LastOwner as exc:
        messages.error(request, f"{exc} Make someone else an owner first.")
        return redirect("settings")
    messages.success(request, f"Removed {membership.user.email} from the workspace.")
    if membership.user_id == request.user.pk:
        request.session.pop(SESSION_KEY, None)
        return redirect("home")
    return redirect("settings")


@login_required
def invitations(request):
    """The signed-in person's pending invitations, to accept or decline."""
    return render(
        request, "accounts/invitations.html", {"invitations": invitations_of(request.user)}
    )


def _invitation(request, membership_id) -> Membership:
    return get_object_or_404(invitations_of(request.user), pk=membership_id)


@require_POST
@login_required
def invitation_accept(request, membership_id):
    membership = _invitation(request, membership_id)
    services.member_accept(membership=membership)
    request.session[SESSION_KEY] = membership.workspace.public_id
    messages.success(request, f"You joined {membership.workspace.name} as {membership.role}.")
    return redirect("getting-started")


@require_POST
@login_required
def invitation_decline(request, membership_id):
    membership = _invitation(request, membership_id)
    services.member_decline(membership=membership)
    messages.success(request, f"You declined the invitation to {membership.workspace.name}.")
    return redirect("invitations")
