import pytest
from django.urls import reverse

from entitlements.models import Contact, LedgerEntry, PaymentEvent, Source
from entitlements.services import (
    Actor,
    Payment,
    contact_activity_record,
    credits_grant,
    refusal_record,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["member-1", "ANN@example", "ann mem"])
def test_contact_search_by_id_email_or_name(login, viewer, member, query):
    response = login(viewer).get(reverse("contacts"), {"q": query})
    assert reverse("contact", args=[member.pk]) in response.content.decode()


def test_contact_search_without_match_shows_an_empty_state(login, viewer, member):
    response = login(viewer).get(reverse("contacts"), {"q": "nobody"})
    assert "No contact matches" in response.content.decode()


def test_contact_page_shows_balance_lots_and_ledger(login, viewer, member):
    html = login(viewer).get(reverse("contact", args=[member.pk])).content.decode()
    lot = member.entitlements.get()
    assert 'data-testid="credits-total">10<' in html
    assert lot.public_id in html
    assert "+10" in html


def test_contact_timeline_shows_what_kotally_told_the_outside(login, viewer, member):
    contact_activity_record(
        location_pk=member.location_id,
        contact_pk=member.pk,
        message="sent credits.low to 2 endpoints",
    )
    html = login(viewer).get(reverse("contact", args=[member.pk])).content.decode()
    assert "sent credits.low to 2 endpoints" in html


def test_contact_timeline_shows_a_refusal_with_what_to_fix(login, viewer, member):
    refusal_record(
        location=member.location,
        contact_key="member-1",
        actor=Actor(source=Source.API, request_id="d-9"),
        operation="deduct",
        reason_code="INSUFFICIENT_CREDITS",
        external_ref="class-7",
    )
    html = login(viewer).get(reverse("contact", args=[member.pk])).content.decode()
    assert '<span class="badge refused">refused</span>' in html
    assert "No single lot holds enough credits for this amount." in html
    assert "What to fix:</strong> The member needs more credits" in html


def test_member_seen_only_in_a_refusal_is_found_under_contacts(login, viewer, location):
    refusal_record(
        location=location,
        contact_key="walk-in",
        actor=Actor(source=Source.API),
        operation="check",
        reason_code="NO_ENTITLEMENT",
    )
    response = login(viewer).get(reverse("contacts"), {"q": "walk-in"})
    contact = Contact.objects.get(external_id="walk-in")
    assert reverse("contact", args=[contact.pk]) in response.content.decode()


def test_api_timeline_keeps_its_three_types(api, member):
    contact_activity_record(
        location_pk=member.location_id,
        contact_pk=member.pk,
        message="GHL field updated: Kotally credits 10",
    )
    refusal_record(
        location=member.location,
        contact_key="member-1",
        actor=Actor(source=Source.API),
        operation="check",
        reason_code="INSUFFICIENT_CREDITS",
    )
    events = api.get("/api/v2/contacts/member-1/timeline?location_id=loc_main").json()["events"]
    assert sorted(e["type"] for e in events) == ["ledger", "payment"]


def _adjust(client, member, **data):
    return client.post(reverse("contact-adjust", args=[member.pk]), {"note": "why", **data})


def test_manual_grant_writes_an_admin_entry_with_the_acting_user(
    login, admin_user, member, package
):
    _adjust(login(admin_user), member, action="grant", product_config=package.public_id)
    entry = LedgerEntry.objects.filter(contact=member).latest("pk")
    payment = PaymentEvent.objects.get(pk=entry.entitlement.payment_id)
    assert (entry.kind, entry.amount, entry.source, entry.actor) == (
        "grant",
        10,
        "admin",
        admin_user,
    )
    assert entry.note == "why"
    assert payment.provider == "admin" and payment.external_payment_id.startswith("admin:")


def test_ledger_shows_who_made_a_manual_change(login, admin_user, member, package):
    client = login(admin_user)
    _adjust(client, member, action="deduct", product_config=package.public_id, amount=1)
    html = client.get(reverse("contact", args=[member.pk])).content.decode()
    assert f"admin · {admin_user.get_full_name() or admin_user.email}" in html


def test_manual_deduct_and_restore_move_credits(login, owner, member, package):
    client = login(owner)
    _adjust(client, member, action="deduct", product_config=package.public_id, amount=3)
    _adjust(client, member, action="restore", product_config=package.public_id, amount=1)
    assert member.entitlements.get().credits_remaining == 8


def test_manual_revoke_empties_the_lot(login, admin_user, member):
    lot = member.entitlements.get()
    _adjust(login(admin_user), member, action="revoke", entitlement=lot.public_id)
    lot.refresh_from_db()
    assert (lot.status, lot.credits_remaining) == ("revoked", 0)


def test_a_refused_adjustment_shows_the_reason_and_keeps_the_fields(
    login, admin_user, member, package
):
    client = login(admin_user)
    response = _adjust(client, member, action="deduct", product_config=package.public_id, amount=11)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Refused (INSUFFICIENT_CREDITS)" in html
    assert 'value="11" min="1" max="1000" id="deduct_amount"' in html


def test_manual_grant_of_any_number_of_credits(login, admin_user, member, package):
    client = login(admin_user)
    response = _adjust(client, member, action="grant", product_config=package.public_id, amount=3)
    page = client.get(response.url).content.decode()
    assert "Granted 3 credits of" in page
    assert member.entitlements.order_by("pk").last().credits_granted == 3


def test_preview_shows_the_new_balance_and_applies_nothing(login, admin_user, member, package):
    response = _adjust(
        login(admin_user),
        member,
        action="deduct",
        product_config=package.public_id,
        amount=4,
        preview="1",
    )
    assert f"{package.name}: 10 → 6 credits (-4)" in response.content.decode()
    assert member.entitlements.get().credits_remaining == 10


def test_restore_that_applies_less_than_asked_says_so(login, admin_user, member, package):
    client = login(admin_user)
    _adjust(client, member, action="deduct", product_config=package.public_id, amount=2)
    response = _adjust(client, member, action="restore", product_config=package.public_id, amount=5)
    assert "Restored 2 of the 5 credits asked" in client.get(response.url).content.decode()


def test_pause_and_resume_appear_on_the_timeline_with_who_and_why(login, admin_user, member):
    client = login(admin_user)
    lot = member.entitlements.get().public_id
    client.post(reverse("lot-pause", args=[lot]), {"note": "injured, back in May"})
    client.post(reverse("lot-resume", args=[lot]))
    html = client.get(reverse("contact", args=[member.pk])).content.decode()
    who = admin_user.get_full_name() or admin_user.email
    assert f"Lot {lot} paused by {who}: injured, back in May" in html
    assert f"Lot {lot} resumed by {who}" in html


def test_paused_lot_shows_its_credits_as_paused(login, admin_user, member):
    client = login(admin_user)
    client.post(reverse("lot-pause", args=[member.entitlements.get().public_id]))
    html = client.get(reverse("contact", args=[member.pk])).content.decode()
    assert "10 paused" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "grant", "product_config": "", "note": "x"}, "Choose a product config"),
        ({"action": "revoke", "note": "x"}, "Choose the lot to revoke"),
        ({"action": "deduct", "note": "   "}, "This field is required"),
        ({"action": "deduct", "amount": "0"}, "greater than or equal to 1"),
        ({"action": "deduct", "amount": "1001"}, "less than or equal to 1000"),
        ({"action": "restore", "amount": ""}, "How many credits?"),
        ({"action": "explode"}, "not one of the available choices"),
    ],
)
def test_adjustment_form_shows_validation_errors(login, admin_user, member, package, data, message):
    payload = {"product_config": package.public_id, "amount": "1", "note": "x", **data}
    response = login(admin_user).post(reverse("contact-adjust", args=[member.pk]), payload)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert LedgerEntry.objects.filter(contact=member).count() == 1


def test_adjustment_refuses_a_config_of_another_location(
    login, admin_user, member, stranger_member
):
    foreign = stranger_member.entitlements.get().product_config
    response = _adjust(login(admin_user), member, action="grant", product_config=foreign.public_id)
    assert response.status_code == 400


def test_viewer_sees_no_adjustment_form_and_gets_403_posting_it(login, viewer, member, package):
    client = login(viewer)
    html = client.get(reverse("contact", args=[member.pk])).content.decode()
    response = _adjust(client, member, action="grant", product_config=package.public_id)
    assert 'id="adjust-form"' not in html
    assert response.status_code == 403


def test_pause_and_resume_a_lot(login, admin_user, member):
    lot = member.entitlements.get()
    client = login(admin_user)
    client.post(reverse("lot-pause", args=[lot.public_id]))
    lot.refresh_from_db()
    assert lot.status == "paused"
    client.post(reverse("lot-resume", args=[lot.public_id]))
    lot.refresh_from_db()
    assert lot.status == "active"


def test_a_bad_ledger_cursor_is_400(login, viewer, member):
    response = login(viewer).get(reverse("contact", args=[member.pk]), {"ledger": "%%%"})
    assert response.status_code == 400


def test_contact_list_has_an_empty_state(login, viewer):
    assert "No contacts yet" in login(viewer).get(reverse("contacts")).content.decode()


def test_contact_pages_keep_the_search_in_their_links(login, viewer, location):
    Contact.objects.bulk_create(
        [Contact(location=location, external_id=f"m-{i}", name="Pat") for i in range(51)]
    )
    html = login(viewer).get(reverse("contacts"), {"q": "pat"}).content.decode()
    assert "?q=pat&amp;after=" in html


def test_restore_with_nothing_deducted_points_to_grant(login, admin_user, member, package):
    client = login(admin_user)
    response = _adjust(client, member, action="restore", product_config=package.public_id, amount=1)
    html = response.content.decode()
    assert "NOTHING_TO_RESTORE" in html
    assert "no credits were deducted from this config" in html
    assert "use the Grant action" in html


def test_revoke_menu_lists_the_newest_lots_and_any_lot_can_still_be_revoked(
    package,
):
    from entitlements.forms import LOT_CHOICES, ManualAdjustmentForm
    from entitlements.models import Contact, Entitlement

    for n in range(LOT_CHOICES + 2):
        credits_grant(
            location=package.location,
            contact_key="many-lots",
            product_config_id=package.public_id,
            payment=Payment(f"many-{n}"),
            actor=Actor(source=Source.API),
        )
    contact = Contact.objects.get(external_id="many-lots")
    form = ManualAdjustmentForm(contact=contact, action=ManualAdjustmentForm.REVOKE)
    assert len(list(form.fields["entitlement"].widget.choices)) == LOT_CHOICES + 1  # and blank
    oldest = Entitlement.objects.filter(contact=contact).order_by("pk").first()
    posted = ManualAdjustmentForm(
        {"action": "revoke", "entitlement": oldest.public_id, "note": "refund"},
        contact=contact,
        action=ManualAdjustmentForm.REVOKE,
    )
    assert posted.is_valid(), posted.errors
