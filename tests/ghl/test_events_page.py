"""The Events page: workspace-scoped list, filters, payload, Retry, unmatched payments."""

import pytest
from django.http import HttpRequest

from inbox.models import EventStatus, InboundEvent, Provider
from tests.conftest import PASSWORD
from tests.ghl.signing import balance, ghl_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        assert client.login(request=HttpRequest(), email=user.email, password=PASSWORD)
        return client

    return sign_in


@pytest.fixture
def failed_purchase(post_ghl, location, pack):
    location.status = "pending"
    location.save()
    post_ghl(ghl_event("InvoicePaid"))
    location.status = "active"
    location.save()
    return InboundEvent.objects.get()


def test_events_page_needs_sign_in(client):
    response = client.get("/events/")
    assert response.status_code == 302


def test_events_page_lists_only_the_workspace_events(
    post_ghl, signed_in, owner, location, stranger_location
):
    post_ghl(ghl_event("ContactCreate"))
    post_ghl(ghl_event("ContactCreate", locationId="loc_stranger", id="stranger_contact"))
    response = signed_in(owner).get("/events/")
    assert list(response.context["page"].object_list) == list(
        InboundEvent.objects.filter(location=location)
    )


def test_events_page_filters_by_status_and_type(post_ghl, signed_in, viewer, location, pack):
    post_ghl(ghl_event("ContactCreate"))
    post_ghl(ghl_event("OrderCreate"))  # GHL's example: a pending order
    response = signed_in(viewer).get("/events/", {"status": "ignored", "type": "OrderCreate"})
    assert [e.reason_code for e in response.context["page"].object_list] == ["NOT_PAID"]


def test_event_detail_shows_the_raw_payload(post_ghl, signed_in, viewer, location):
    post_ghl(ghl_event("ContactCreate"))
    response = signed_in(viewer).get(f"/events/{InboundEvent.objects.get().pk}/")
    assert b"JohnDeo@gmail.comm" in response.content


def test_event_of_another_workspace_is_not_found(post_ghl, signed_in, stranger, location):
    post_ghl(ghl_event("ContactCreate"))
    response = signed_in(stranger).get(f"/events/{InboundEvent.objects.get().pk}/")
    assert response.status_code == 404


def test_admin_retries_a_failed_event(
    signed_in, admin_user, failed_purchase, location, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(admin_user).post(f"/events/{failed_purchase.pk}/retry/")
    failed_purchase.refresh_from_db()
    assert response.status_code == 302
    assert (failed_purchase.status, failed_purchase.attempts) == (EventStatus.PROCESSED, 2)
    assert balance(location, "ghl_contact_ava") == 10


def test_viewer_cannot_retry(signed_in, viewer, failed_purchase):
    response = signed_in(viewer).post(f"/events/{failed_purchase.pk}/retry/")
    failed_purchase.refresh_from_db()
    assert response.status_code == 403
    assert failed_purchase.status == EventStatus.FAILED


def test_retry_of_an_event_that_did_not_fail_changes_nothing(post_ghl, signed_in, owner, location):
    post_ghl(ghl_event("ContactCreate"))
    event = InboundEvent.objects.get()
    signed_in(owner).post(f"/events/{event.pk}/retry/")
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.PROCESSED, 1)


def test_unmatched_payment_is_listed_with_what_to_fix(
    post_ghl, signed_in, owner, location, package
):
    post_ghl(ghl_event("InvoicePaid"))
    page = signed_in(owner).get("/events/").content.decode()
    assert "no active product config for GHL product prod_pack10" in page
    assert "Create a product config mapped to GHL product prod_pack10" in page


def test_provider_filter_accepts_merchant_stripe(signed_in, owner, location):
    response = signed_in(owner).get("/events/", {"provider": Provider.STRIPE_MERCHANT})
    assert response.status_code == 200
    assert b"No events match these filters." in response.content
