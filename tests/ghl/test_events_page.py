"""The Events page: workspace-scoped list, filters, payload, Retry, unmatched payments."""

import pytest
from django.http import HttpRequest

from entitlements.models import Contact
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


@pytest.fixture
def refused_booking(post_ghl, location, pack):
    """John Deo (ghl_contact_ava) is known from a ContactCreate; his booking is refused."""
    post_ghl(ghl_event("ContactCreate"))
    post_ghl(ghl_event("AppointmentCreate"))
    return InboundEvent.objects.get(event_type="AppointmentCreate")


def test_refused_booking_is_never_a_green_processed_badge(signed_in, viewer, refused_booking):
    page = signed_in(viewer).get("/events/").content.decode()
    assert '<span class="badge refused">refused</span>' in page
    assert page.count('<span class="badge processed">') == 1  # the ContactCreate only


def test_events_list_links_each_event_to_its_member(signed_in, viewer, refused_booking):
    response = signed_in(viewer).get("/events/")
    member = Contact.objects.get(external_id="ghl_contact_ava")
    assert f'href="/contacts/{member.pk}/">John Deo</a>' in response.content.decode()


@pytest.mark.parametrize("query", ["John", "ghl_contact_ava", "no_entitlement"])
def test_events_search_by_member_or_reason(signed_in, viewer, refused_booking, query):
    response = signed_in(viewer).get("/events/", {"q": query, "status": "refused"})
    assert list(response.context["page"].object_list) == [refused_booking]


def test_events_search_by_event_id(signed_in, viewer, refused_booking):
    response = signed_in(viewer).get("/events/", {"q": refused_booking.event_id})
    assert list(response.context["page"].object_list) == [refused_booking]


def test_processed_filter_leaves_refusals_out(signed_in, viewer, refused_booking):
    response = signed_in(viewer).get("/events/", {"status": "processed"})
    assert [e.event_type for e in response.context["page"].object_list] == ["ContactCreate"]


def test_refused_event_shows_why_and_what_to_fix(signed_in, viewer, refused_booking):
    page = signed_in(viewer).get(f"/events/{refused_booking.pk}/").content.decode()
    assert "The contact holds no credits in this location." in page
    assert "What to fix:</strong> The member has never bought credits here" in page
    assert "Open John Deo's page" in page


def test_admin_reprocesses_a_refused_booking_after_a_purchase(
    post_ghl, signed_in, admin_user, refused_booking, location, django_capture_on_commit_callbacks
):
    post_ghl(ghl_event("InvoicePaid"))
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(admin_user).post(f"/events/{refused_booking.pk}/reprocess/")
    refused_booking.refresh_from_db()
    assert response.status_code == 302
    assert refused_booking.reason_code == "deducted"
    assert balance(location, "ghl_contact_ava") == 9


def test_viewer_cannot_reprocess(signed_in, viewer, refused_booking):
    response = signed_in(viewer).post(f"/events/{refused_booking.pk}/reprocess/")
    assert response.status_code == 403
