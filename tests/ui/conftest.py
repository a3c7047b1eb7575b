"""Admin UI helpers on top of the shared cast (tests/conftest.py)."""

import pytest
from django.test import Client

from entitlements.models import Contact, Source
from entitlements.services import Actor, Payment, credits_grant
from tests.factories import ProductConfigFactory


@pytest.fixture
def login():
    """login(user) → a test client signed in as that user."""

    def _login(user, **client_kwargs):
        client = Client(**client_kwargs)
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def member(package):
    """Contact `member-1` of loc_main holding one 10-credit lot of the package."""
    credits_grant(
        location=package.location,
        contact_key="member-1",
        product_config_id=package.public_id,
        payment=Payment(external_payment_id="pay-1"),
        actor=Actor(source=Source.API),
        email="ann@example.com",
        name="Ann Member",
    )
    return Contact.objects.get(location=package.location, external_id="member-1")


@pytest.fixture
def stranger_member(stranger_location):
    config = ProductConfigFactory(location=stranger_location)
    credits_grant(
        location=stranger_location,
        contact_key="their-member",
        product_config_id=config.public_id,
        payment=Payment(external_payment_id="their-pay"),
        actor=Actor(source=Source.API),
    )
    return Contact.objects.get(location=stranger_location, external_id="their-member")
