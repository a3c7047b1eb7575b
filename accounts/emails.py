"""The password-set email an invited person receives (Django's email backend)."""

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def send_invitation(*, request, user, workspace, invited_by, needs_password: bool) -> None:
    """New users get a one-time link to set a password; everyone accepts (or declines) on
    their Invitations page, so nobody joins a workspace without saying yes."""
    if needs_password:
        path = reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    else:
        path = reverse("invitations")
    context = {
        "workspace": workspace,
        "invited_by": invited_by,
        "url": request.build_absolute_uri(path),
        "invitations_url": request.build_absolute_uri(reverse("invitations")),
        "needs_password": needs_password,
    }
    send_mail(
        subject=f"You have been invited to {workspace.name} on Kotally",
        message=render_to_string("accounts/invitation_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
