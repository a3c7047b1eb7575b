"""Issue 13 item 9 (most of it is proven in tests/ui/test_staff.py): secrets at rest never
reach a /staff/ page."""

from datetime import timedelta

from django.utils import timezone

from integrations_ghl.models import Installation, UserType
from kotally.lib.crypto import encrypt
from tests.factories import UserFactory


def test_the_ghl_installation_admin_never_shows_the_tokens(login, location):
    installation = Installation.objects.create(
        workspace=location.workspace,
        user_type=UserType.LOCATION,
        location=location,
        access_token_enc=encrypt("access-secret"),
        refresh_token_enc=encrypt("refresh-secret"),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    superuser = UserFactory(email="ops@kotally.test", is_staff=True, is_superuser=True)
    html = (
        login(superuser)
        .get(f"/staff/integrations_ghl/installation/{installation.pk}/change/")
        .content.decode()
    )
    assert "access_token" not in html and installation.access_token_enc not in html
    assert installation.refresh_token_enc not in html
