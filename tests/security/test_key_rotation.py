"""Issue 13 item 8: FIELD_ENCRYPTION_KEYS (newest first) and `manage.py
rotate_field_encryption`, which re-encrypts every secret at rest under the newest key."""

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from integrations_ghl.models import Installation, UserType
from kotally.lib.crypto import InvalidToken, decrypt, encrypt
from locations.models import Location

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def stored_under_old_key(settings, location):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    Location.objects.filter(pk=location.pk).update(
        stripe_webhook_secret_enc=encrypt("whsec_1"), stripe_restricted_key_enc=encrypt("rk_1")
    )
    return Installation.objects.create(
        workspace=location.workspace,
        user_type=UserType.LOCATION,
        location=location,
        access_token_enc=encrypt("access-1"),
        refresh_token_enc=encrypt("refresh-1"),
        expires_at=timezone.now() + timedelta(hours=1),
    )


def test_a_new_key_in_front_still_reads_what_the_old_key_wrote(settings, stored_under_old_key):
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt(stored_under_old_key.access_token_enc) == "access-1"


def test_rotation_reencrypts_every_secret_so_the_old_key_can_go(
    settings, location, stored_under_old_key
):
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_field_encryption", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    installation = Installation.objects.get()
    location.refresh_from_db()
    assert decrypt(installation.access_token_enc) == "access-1"
    assert decrypt(installation.refresh_token_enc) == "refresh-1"
    assert decrypt(location.stripe_webhook_secret_enc) == "whsec_1"
    assert decrypt(location.stripe_restricted_key_enc) == "rk_1"


def test_without_rotation_dropping_the_old_key_loses_the_secrets(settings, stored_under_old_key):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(InvalidToken):
        decrypt(stored_under_old_key.access_token_enc)
