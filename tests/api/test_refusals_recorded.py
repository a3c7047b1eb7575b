"""Refused checks, deducts and restores are kept for the member's page ("why didn't it
deduct?"), once per request id, and make an unknown member findable under Contacts."""

from entitlements.models import Contact, Refusal

from .conftest import POSTS, check_body, move_body


def test_refused_deduct_is_recorded_with_its_request_id(api, member):
    api.post_json(POSTS["deduct"], move_body(amount=11, request_id="d-big"))
    refusal = Refusal.objects.get()
    assert (refusal.operation, refusal.reason_code, refusal.source) == (
        "deduct",
        "INSUFFICIENT_CREDITS",
        "api",
    )
    assert (refusal.request_id, refusal.contact.external_id) == ("d-big", "m1")


def test_replayed_refusal_is_recorded_once(api, member):
    body = move_body(amount=11)
    api.post_json(POSTS["deduct"], body)
    api.post_json(POSTS["deduct"], body)
    assert Refusal.objects.count() == 1


def test_refused_deduct_of_an_unknown_member_creates_the_contact(api, package):
    api.post_json(POSTS["deduct"], move_body(external_contact_id="newcomer"))
    contact = Contact.objects.get(external_id="newcomer")
    assert contact.refusals.get().reason_code == "NO_ENTITLEMENT"


def test_refused_check_and_restore_are_recorded(api, member):
    api.post_json(POSTS["check"], check_body(amount=11))
    api.post_json(POSTS["restore"], move_body())
    assert sorted(Refusal.objects.values_list("operation", "reason_code")) == [
        ("check", "INSUFFICIENT_CREDITS"),
        ("restore", "NOTHING_TO_RESTORE"),
    ]


def test_successful_deduct_records_no_refusal(api, member):
    api.post_json(POSTS["deduct"], move_body())
    assert not Refusal.objects.exists()
