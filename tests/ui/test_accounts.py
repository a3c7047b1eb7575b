import smtplib

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Membership, Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()
SIGNUP = {
    "email": "New@Example.com",
    "password": "a-long-unusual-passphrase",
    "workspace_name": "Yoga Loft",
}


def test_signup_creates_an_owner_and_lands_on_getting_started(client):
    response = client.post(reverse("signup"), SIGNUP)
    membership = Membership.objects.get(user__email="new@example.com")
    assert response.url == reverse("getting-started")
    assert (membership.role, membership.workspace.name) == (Role.OWNER, "Yoga Loft")
    assert membership.workspace.billing_status == "none"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "short", "too short"),
        ("password", "password123", "too common"),
        ("password", "84736291047", "entirely numeric"),
        ("email", "not-an-email", "valid email"),
        ("workspace_name", "   ", "required"),
    ],
)
def test_signup_shows_validation_errors(client, field, value, message):
    response = client.post(reverse("signup"), {**SIGNUP, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_signup_refuses_an_email_already_in_use(client, owner):
    response = client.post(reverse("signup"), {**SIGNUP, "email": "OWNER@example.com"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_sign_in_with_email_and_password_lands_on_getting_started(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("getting-started")  # via the dashboard


def test_sign_in_with_a_wrong_password_shows_an_error(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()


def test_sign_out_ends_the_session(login, owner):
    client = login(owner)
    client.post(reverse("logout"))
    assert client.get(reverse("getting-started")).status_code == 302


@pytest.mark.parametrize(("signed_in", "target"), [(True, "dashboard"), (False, "login")])
def test_home_redirects_by_sign_in_state(client, login, owner, signed_in, target):
    response = (login(owner) if signed_in else client).get("/")
    assert response.url == reverse(target)


def test_password_reset_emails_a_working_link(client, owner):
    client.post(reverse("password_reset"), {"email": owner.email})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "another-long-phrase", "new_password2": "another-long-phrase"},
    )
    owner.refresh_from_db()
    assert owner.check_password("another-long-phrase")


def test_settings_save_updates_the_window_and_restore_flag(login, admin_user, workspace):
    login(admin_user).post(reverse("settings-save"), {"cancellation_window_hours": "6"})
    workspace.refresh_from_db()
    assert (workspace.cancellation_window_hours, workspace.restore_on_cancel) == (6, False)


@pytest.mark.parametrize("value", ["-1", "721", "soon", ""])
def test_settings_save_rejects_bad_windows(login, owner, workspace, value):
    response = login(owner).post(reverse("settings-save"), {"cancellation_window_hours": value})
    workspace.refresh_from_db()
    assert response.status_code == 400
    assert workspace.cancellation_window_hours == 24


def test_invite_creates_a_user_without_password_and_emails_a_set_password_link(
    login, owner, workspace
):
    login(owner).post(reverse("member-invite"), {"email": "Coach@Example.com", "role": "admin"})
    invited = User.objects.get(email="coach@example.com")
    assert not invited.has_usable_password()
    assert invited.memberships.get().role == Role.ADMIN
    assert "/accounts/reset/" in mail.outbox[0].body


def test_invited_user_sets_a_password_from_the_email(client, login, owner):
    login(owner).post(reverse("member-invite"), {"email": "coach@example.com", "role": "viewer"})
    link = next(x for x in mail.outbox[0].body.splitlines() if "/accounts/reset/" in x)
    page = client.get(link, follow=True)
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "coach-long-phrase-1", "new_password2": "coach-long-phrase-1"},
    )
    assert client.login(
        request=HttpRequest(), email="coach@example.com", password="coach-long-phrase-1"
    )


def test_inviting_an_existing_member_is_a_form_error(login, owner, viewer):
    response = login(owner).post(reverse("member-invite"), {"email": viewer.email, "role": "admin"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()


@pytest.mark.parametrize(
    "data", [{"email": "x", "role": "admin"}, {"email": "x@example.com", "role": "king"}]
)
def test_invite_rejects_bad_input(login, owner, data):
    response = login(owner).post(reverse("member-invite"), data)
    assert response.status_code == 400
    assert not User.objects.filter(email__startswith="x").exists()


def test_owner_changes_a_members_role(login, owner, viewer):
    membership = viewer.memberships.get()
    login(owner).post(reverse("member-role", args=[membership.pk]), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_the_last_owner_cannot_be_demoted(login, owner):
    membership = owner.memberships.get()
    response = login(owner).post(
        reverse("member-role", args=[membership.pk]), {"role": "viewer"}, follow=True
    )
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    assert "at least one owner" in response.content.decode()


def test_the_last_owner_cannot_be_removed(login, owner):
    membership = owner.memberships.get()
    login(owner).post(reverse("member-remove", args=[membership.pk]))
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_can_step_down_when_another_owner_exists(login, owner, admin_user):
    admin_user.memberships.update(role=Role.OWNER)
    login(owner).post(reverse("member-role", args=[owner.memberships.get().pk]), {"role": "admin"})
    assert owner.memberships.get().role == Role.ADMIN


def test_owner_removes_a_member(login, owner, viewer):
    login(owner).post(reverse("member-remove", args=[viewer.memberships.get().pk]))
    assert not viewer.memberships.exists()


def test_a_user_in_two_workspaces_switches_between_them(login, owner, stranger_workspace):
    Membership.objects.create(user=owner, workspace=stranger_workspace, role=Role.VIEWER)
    client = login(owner)
    client.post(reverse("switch-workspace"), {"workspace": stranger_workspace.public_id})
    response = client.get(reverse("settings"))
    assert response.wsgi_request.workspace == stranger_workspace


def test_switching_to_a_workspace_you_are_not_in_is_404(login, owner, stranger_workspace):
    response = login(owner).post(
        reverse("switch-workspace"), {"workspace": stranger_workspace.public_id}
    )
    assert response.status_code == 404


def test_a_user_without_workspace_sees_an_explanation(login, db):
    user = User.objects.create_user(email="lonely@example.com", password=PASSWORD)
    response = login(user).get(reverse("getting-started"))
    assert response.status_code == 403
    assert "not in a workspace" in response.content.decode()


class DownSmtp(BaseEmailBackend):
    """An email backend whose SMTP server is unreachable."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection refused")


def test_invite_while_email_is_down_adds_the_member_and_says_the_email_failed(
    login, owner, workspace, settings
):
    settings.EMAIL_BACKEND = "tests.ui.test_accounts.DownSmtp"
    response = login(owner).post(
        reverse("member-invite"), {"email": "coach@example.com", "role": "viewer"}, follow=True
    )
    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    assert Membership.objects.filter(user__email="coach@example.com").exists()


def test_invited_member_without_a_password_can_use_forgot_password(client, login, owner):
    login(owner).post(reverse("member-invite"), {"email": "coach@example.com", "role": "viewer"})
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": "Coach@Example.com"})
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body
