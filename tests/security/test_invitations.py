"""Issue 13 item 5: an invitation is pending until its invitee accepts it; an invited email
can still sign up its own workspace, and nobody joins a workspace without saying yes."""

from django.core import mail
from django.urls import reverse

from accounts.models import Membership, Role, User, Workspace
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def _invite(login, owner, email, role="admin"):
    login(owner).post(reverse("member-invite"), {"email": email, "role": role})
    return Membership.objects.get(user__email=email, workspace__name="Owner Studio")


def test_an_invited_email_can_still_sign_up_its_own_workspace(client, login, owner):
    _invite(login, owner, "coach@example.com")
    response = client.post(
        reverse("signup"),
        {
            "email": "coach@example.com",
            "password": "coach-long-phrase-1",
            "workspace_name": "Coach Co",
        },
    )
    assert response.status_code == 302
    coach = User.objects.get(email="coach@example.com")
    assert coach.check_password("coach-long-phrase-1")
    assert Workspace.objects.get(name="Coach Co").memberships.get().user == coach


def test_an_existing_user_is_not_added_to_a_workspace_by_an_invite(login, owner, stranger):
    invite = _invite(login, owner, stranger.email)
    assert invite.is_pending
    page = login(stranger).get(reverse("getting-started"))
    assert page.context["request"].workspace.name == "Stranger Gym"


def test_a_pending_invitation_opens_no_page_of_the_workspace(login, owner, stranger, location):
    _invite(login, owner, stranger.email)
    Membership.objects.filter(user=stranger, workspace__name="Stranger Gym").delete()
    response = login(stranger).get(reverse("contacts"))
    assert response.status_code == 302 and response.url == reverse("invitations")


def test_accepting_the_invitation_joins_the_workspace(login, owner, stranger):
    invite = _invite(login, owner, stranger.email, role="viewer")
    client = login(stranger)
    client.post(reverse("invitation-accept", args=[invite.pk]))
    invite.refresh_from_db()
    assert not invite.is_pending
    assert client.get(reverse("getting-started")).context["request"].workspace.name == (
        "Owner Studio"
    )


def test_declining_the_invitation_removes_it(login, owner, stranger):
    invite = _invite(login, owner, stranger.email)
    login(stranger).post(reverse("invitation-decline", args=[invite.pk]))
    assert not Membership.objects.filter(pk=invite.pk).exists()


def test_nobody_else_can_accept_an_invitation(login, owner, stranger, viewer):
    invite = _invite(login, owner, stranger.email)
    response = login(viewer).post(reverse("invitation-accept", args=[invite.pk]))
    invite.refresh_from_db()
    assert response.status_code == 404 and invite.is_pending


def test_the_invitation_email_points_existing_users_to_their_invitations(login, owner, stranger):
    _invite(login, owner, stranger.email)
    assert reverse("invitations") in mail.outbox[0].body


def test_a_pending_owner_invite_does_not_count_as_an_owner(login, owner, workspace):
    _invite(login, owner, "second@example.com", role="owner")
    mine = Membership.objects.get(user=owner, workspace=workspace)
    login(owner).post(reverse("member-role", args=[mine.pk]), {"role": "viewer"})
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_a_real_account_is_still_taken(client, owner):
    response = client.post(
        reverse("signup"), {"email": owner.email, "password": PASSWORD, "workspace_name": "Again"}
    )
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_staff_cannot_put_a_person_into_a_workspace(login, db):
    superuser = UserFactory(email="ops@kotally.test", is_staff=True, is_superuser=True)
    assert login(superuser).get("/staff/accounts/membership/add/").status_code == 403
