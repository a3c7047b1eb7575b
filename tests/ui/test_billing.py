import pytest
from django.urls import reverse

from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _price(client):
    html = client.get(reverse("billing")).content.decode()
    start = html.index('data-testid="monthly-price">') + len('data-testid="monthly-price">')
    return html[start : html.index("<", start)]


def test_price_preview_is_59_for_one_active_location(login, viewer, location):
    assert _price(login(viewer)) == "$59.00"


def test_price_preview_adds_19_per_additional_location(login, viewer, location, workspace):
    LocationFactory(workspace=workspace)
    LocationFactory(workspace=workspace, status="removed")
    assert _price(login(viewer)) == "$78.00"


def test_billing_shows_status_and_trial_end(login, viewer, workspace):
    workspace.trial_ends_at = workspace.created_at
    workspace.save()
    html = login(viewer).get(reverse("billing")).content.decode()
    assert "Trialing" in html
    assert "Trial ends" in html


def test_a_trial_starts_only_once(login, owner, workspace):
    response = login(owner).post(reverse("billing-start-trial"), follow=True)
    assert "only be started once" in response.content.decode()
