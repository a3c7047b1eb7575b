"""Issue 13 item 1: wrong passwords lock an email out per client address (django-axes, also on
/staff/login/); password reset and sign-up are limited through the shared cache; password
reset answers the same for known and unknown emails."""

import uuid

import pytest
from django.core import mail

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


@pytest.fixture
def address():
    """A client address of this test alone (the cache outlives tests)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}"


def _sign_in(client, email, password, address):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_email_out_even_with_the_right_one(client, owner, address):
    codes = [_sign_in(client, owner.email, "wrong-guess", address).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    response = _sign_in(client, owner.email, PASSWORD, address)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_ignores_the_case_of_the_email(client, owner, address):
    for _ in range(5):
        _sign_in(client, owner.email.upper(), "wrong-guess", address)
    assert _sign_in(client, owner.email, PASSWORD, address).status_code == 429


def test_another_address_can_still_sign_in_to_a_locked_email(client, owner, address):
    for _ in range(5):
        _sign_in(client, owner.email, "wrong-guess", address)
    assert _sign_in(client, owner.email, PASSWORD, "192.0.2.99").status_code == 302


def test_staff_login_is_locked_out_too(client, db, address):
    from tests.factories import UserFactory

    staff = UserFactory(email="ops@kotally.test", is_staff=True, is_superuser=True)
    for _ in range(5):
        client.post(
            "/staff/login/", {"username": staff.email, "password": "wrong"}, REMOTE_ADDR=address
        )
    response = client.post(
        "/staff/login/", {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR=address
    )
    assert response.status_code == 429


def test_password_reset_sends_at_most_three_emails_per_address_an_hour(
    client, owner, settings, address
):
    settings.PASSWORD_RESET_EMAILS_PER_HOUR = 3
    owner.email = f"{uuid.uuid4().hex}@example.com"
    owner.save()
    for _ in range(5):
        response = client.post(
            "/accounts/password-reset/", {"email": owner.email}, REMOTE_ADDR=address
        )
        assert response.status_code == 302
    assert len(mail.outbox) == 3


def test_password_reset_answers_the_same_for_known_and_unknown_emails(client, owner, address):
    known = client.post("/accounts/password-reset/", {"email": owner.email}, REMOTE_ADDR=address)
    unknown = client.post(
        "/accounts/password-reset/", {"email": "nobody@example.com"}, REMOTE_ADDR=address
    )
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)


def test_one_address_posting_password_reset_too_often_gets_429(client, db, settings, address):
    settings.ACCOUNT_FORMS_PER_IP_PER_HOUR = 3
    codes = [
        client.post(
            "/accounts/password-reset/", {"email": f"p{i}@example.com"}, REMOTE_ADDR=address
        ).status_code
        for i in range(4)
    ]
    assert codes == [302, 302, 302, 429]


def test_one_address_posting_sign_up_too_often_gets_429(client, owner, settings, address):
    settings.ACCOUNT_FORMS_PER_IP_PER_HOUR = 3
    body = {"email": owner.email, "password": "long-enough-phrase-9", "workspace_name": "X"}
    codes = [
        client.post("/accounts/signup/", body, REMOTE_ADDR=address).status_code for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]


def test_the_client_address_is_the_one_the_platform_proxy_saw(client, owner, settings, address):
    """A client cannot dodge the limit by writing its own X-Forwarded-For."""
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        client.post(
            LOGIN,
            {"username": owner.email, "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {address}",
        )
    response = client.post(
        LOGIN,
        {"username": owner.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR=f"203.0.113.7, {address}",
    )
    assert response.status_code == 429
