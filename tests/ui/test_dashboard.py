"""The home dashboard (console): where a sign-in lands once Getting Started is done."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from entitlements.models import Entitlement, Source
from entitlements.services import Actor, credits_deduct, refusal_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def set_up(member, token):
    """The cast's workspace with billing, a location, a config, an API client and a member
    holding 10 credits of which 8 were used."""
    credits_deduct(
        location=member.location,
        contact_key="member-1",
        actor=Actor(),
        product_config_id=member.entitlements.get().product_config.public_id,
        amount=8,
    )
    return member


def test_a_workspace_not_set_up_lands_on_getting_started(login, owner, location):
    response = login(owner).get(reverse("dashboard"))
    assert response.url == reverse("getting-started")


def test_dashboard_charts_credits_granted_and_used_this_week(login, viewer, set_up):
    response = login(viewer).get(reverse("dashboard"))
    ((location, chart),) = response.context["charts"]
    assert (chart["weeks"][-1].granted, chart["weeks"][-1].used) == (10, 8)
    assert "<svg" in response.content.decode()


def test_dashboard_lists_low_balances_expiring_packs_and_refusals(login, viewer, set_up):
    Entitlement.objects.update(expires_at=timezone.now() + timedelta(days=5))
    refusal_record(
        location=set_up.location,
        contact_key="walk-in",
        actor=Actor(source=Source.API),
        operation="deduct",
        reason_code="NO_ENTITLEMENT",
    )
    html = login(viewer).get(reverse("dashboard")).content.decode()
    assert "Ann Member</a>: 2 left" in html
    assert "Ann Member</a>: 2 10-Class Pack on" in html
    assert "walk-in</a>: API deduct refused, <code>NO_ENTITLEMENT</code>" in html


def test_dashboard_shows_only_the_workspace(login, stranger, set_up):
    response = login(stranger).get(reverse("dashboard"))
    assert response.status_code == 302  # the stranger's workspace is not set up
