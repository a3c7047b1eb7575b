"""Hostile input on the newer surfaces (/api/v2's: tests/reliability/test_hostile_input.py):
Kotally's billing webhook and its checkout/portal buttons, the embed's sign-in and pages, the
confirmation pages, the API request log, the Events page and its CSV, the contacts list and
its CSV, and the outbound endpoint form.

Each request is wrong in one way (type, size, NUL, invalid UTF-8, lone surrogate, overflowing
integer, forged cursor, unknown choice, method, CSRF, signature, a second submission). Each
must answer a clear 4xx (or the page with the form's error, or the documented "matches
nothing" of an unknown filter), never a 5xx, and change no row: `snapshot()` is every row of
every Kotally table, compared before and after.
"""

import base64
import ipaddress
import json
from urllib.parse import quote

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from api.models import ApiClient, ApiRequest
from entitlements.models import Contact
from inbox.models import EventStatus, InboundEvent, Provider
from kotally.lib.keyset import encode_cursor
from locations.models import LocationKind
from outbound.models import Endpoint
from outbound.services import endpoint_create
from tests import stripe_shapes as shapes
from tests.billing.conftest import WEBHOOK_SECRET
from tests.embed.conftest import AUTH, sign_in
from tests.embed.cryptojs import SECRET, encrypt, ghl_payload, user_context
from tests.factories import LocationFactory
from tests.ghl.signing import stripe_header

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_000  # 100 KB
NUL = "a\x00b"
SNAPSHOT_APPS = (
    "accounts",
    "locations",
    "entitlements",
    "inbox",
    "integrations_ghl",
    "api",
    "outbound",
)


def snapshot() -> dict:
    """Every row of every Kotally table: any write a request made shows up as a difference.
    (`last_login` is left out: the `login` fixture's client sets it when it is made.)"""
    return {
        model._meta.label: [
            {k: v for k, v in row.items() if k != "last_login"}
            for row in model.objects.order_by("pk").values()
        ]
        for label in SNAPSHOT_APPS
        for model in apps.get_app_config(label).get_models()
    }


def read(response) -> bytes:
    """The body, streamed ones (CSV) included: an error while streaming raises here."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


# Query-string values, already percent-encoded: what a browser, a script or an attacker can
# put after `param=`. Invalid UTF-8 (and a UTF-8-encoded lone surrogate) decode to U+FFFD.
QUERY_VALUES = {
    "huge": quote(HUGE),
    "nul": quote(NUL),
    "only_nul": "%00",
    "invalid_utf8": "%FF%FE",
    "utf8_lone_surrogate": "%ED%A0%80",
    "overlong_utf8": "%C0%80",
    "bare_percent": "%",
    "html": quote("<script>alert(1)</script>"),
    "sql": quote("' OR 1=1 --"),
    "int_overflow": str(2**63),
    "negative": "-1",
    "rtl": quote("\u202eevil"),
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


WHEN = "2024-01-01T00:00:00+00:00"
# Cursors this product never wrote: each must be 400 (Bad Request), never a 500.
BAD_CURSORS = {
    "garbage": "not-a-cursor",
    "huge": "A" * 100_000,
    "nul": "\x00",
    "not_utf8": _b64(b"\xff\xfe"),
    "not_json": _b64(b"{"),
    "object": _b64(b'{"a": 1}'),
    "too_short": encode_cursor([WHEN]),
    "too_long": encode_cursor([WHEN, 1, 2, 3]),
    "swapped": encode_cursor([1, WHEN]),
    "nulls": encode_cursor([None, None]),
    "float_id": encode_cursor([WHEN, 1.5]),
    "nan_id": _b64(f'["{WHEN}", NaN]'.encode()),
    "naive_time": encode_cursor(["2024-01-01T00:00:00", 1]),
    "year_9999": encode_cursor(["9999-12-31T23:59:59+00:00", 1]),
    "year_1": encode_cursor(["0001-01-01T00:00:00+00:00", 1]),
    "nul_time": encode_cursor(["2024\x00", 1]),
    "overflow_id": encode_cursor([WHEN, 2**63]),
    "underflow_id": encode_cursor([WHEN, -(2**63) - 1]),
    "huge_int": encode_cursor([WHEN, 10**300]),
    "deep": _b64(b"[" * 50_000 + b"]" * 50_000),
}


# --- the cast -----------------------------------------------------------------------------------


@pytest.fixture
def ghl_location(workspace, settings):
    """An active GHL location of the workspace, and the GHL shared secret the embed needs."""
    settings.GHL_SHARED_SECRET = SECRET
    return LocationFactory(
        workspace=workspace, location_id="loc_ghl", name="GHL Studio", kind=LocationKind.GHL
    )


@pytest.fixture
def rows(location, package, token, ghl_location):
    """One row of each kind the pages list: a member, an API request, an inbound event."""
    from entitlements.services import Actor, Payment, credits_grant

    credits_grant(
        location=location,
        contact_key="member-1",
        product_config_id=package.public_id,
        payment=Payment(external_payment_id="hostile-newer-pay"),
        actor=Actor(request_id="hostile-newer-grant"),
        name="Ann Member",
        email="ann@example.com",
    )
    ApiRequest.objects.create(
        client=ApiClient.objects.get(),
        location=location,
        method="POST",
        path="/api/v2/entitlements/deduct",
        status=200,
        ok=True,
        reason_code="deducted",
        request_id="req-1",
        contact_key="member-1",
        latency_ms=3,
    )
    InboundEvent.objects.create(
        provider=Provider.GHL,
        event_id="evt-hostile-1",
        event_type="AppointmentCreate",
        location=location,
        contact_ref="member-1",
        status=EventStatus.PROCESSED,
        payload={"type": "AppointmentCreate"},
    )


# --- Kotally's billing webhook (SPEC §6.1) --------------------------------------------------------

BILLING_HOOK = "/webhooks/stripe/billing"


def _post_signed(client, body: str, header: str | None = None):
    header = shapes.signature(body, WEBHOOK_SECRET) if header is None else header
    return client.post(
        BILLING_HOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def _event(**fields) -> str:
    return json.dumps(
        {"id": "evt_hostile", "type": "customer.subscription.updated", "data": {}, **fields}
    )


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
def test_billing_webhook_wrong_method_is_405(client, stripe_billing, method):
    before = snapshot()
    response = getattr(client, method)(BILLING_HOOK)
    assert response.status_code == 405
    if method != "head":
        assert response.json()["reason_code"] == "METHOD_NOT_ALLOWED"
    assert snapshot() == before


BAD_SIGNATURES = {
    "missing": None,
    "empty": "",
    "garbage": "garbage",
    "empty_parts": "t=,v1=",
    "non_numeric_time": "t=abc,v1=def",
    "huge": "t=1,v1=" + "a" * 100_000,
    "no_time": "v1=" + "0" * 64,
    "other_secret": shapes.signature(_event(), "whsec_someone_else"),
    "stale": shapes.signature(_event(), WEBHOOK_SECRET, timestamp=shapes.now() - 3600),
    "other_body": shapes.signature(_event(id="evt_other"), WEBHOOK_SECRET),
}


@pytest.mark.parametrize("header", BAD_SIGNATURES.values(), ids=BAD_SIGNATURES.keys())
def test_billing_webhook_bad_signature_is_400_and_stores_nothing(
    client,
    stripe_billing,
    header,
):
    before = snapshot()
    kwargs = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}
    response = client.post(BILLING_HOOK, data=_event(), content_type="application/json", **kwargs)
    assert (response.status_code, response.json()["reason_code"]) == (400, "INVALID_SIGNATURE")
    assert snapshot() == before


def test_billing_webhook_unsigned_invalid_utf8_is_400(client, stripe_billing):
    response = client.post(
        BILLING_HOOK,
        data=b'{"id": "evt_\xff"}',
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


# Bodies signed with the right secret that are still not a usable Stripe event.
SIGNED_BAD_BODIES = {
    "empty": "",
    "invalid_json": "{",
    "array": "[]",
    "string": '"evt_1"',
    "number": "1",
    "null": "null",
    "deep": '{"id": "evt_deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "no_id": json.dumps({"type": "invoice.paid"}),
    "empty_id": _event(id=""),
    "null_id": _event(id=None),
    "int_id": _event(id=2**63),
    "bool_id": _event(id=True),
    "list_id": _event(id=["evt_1"]),
    "object_id": _event(id={"evt": 1}),
    "huge_id": _event(id="evt_" + HUGE),
    "nul_id": _event(id="evt\x00"),
    "nul_value": _event(type="invoice.paid\x00"),
    "nul_key": _event(**{"k\x00": 1}),
    "surrogate_value": _event(type="\ud800"),
    "surrogate_key": _event(**{"\udfff": 1}),
    "nan": _event().replace('"data": {}', '"data": NaN'),
    "infinity": _event().replace('"data": {}', '"data": -Infinity'),
}


@pytest.mark.parametrize("body", SIGNED_BAD_BODIES.values(), ids=SIGNED_BAD_BODIES.keys())
def test_billing_webhook_signed_but_unusable_body_is_400_and_stores_nothing(
    client,
    stripe_billing,
    body,
):
    before = snapshot()
    response = _post_signed(client, body)
    assert (response.status_code, response.json()["reason_code"]) == (400, "INVALID_JSON")
    assert response.json()["ok"] is False and response.json()["message"]
    assert snapshot() == before


def test_billing_webhook_redelivery_with_another_body_is_a_duplicate(
    client,
    stripe_billing,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        first = _post_signed(client, _event())
        before = snapshot()
        again = _post_signed(client, _event(type="invoice.paid", extra="x" * 1000))
    assert first.json()["reason_code"] == "received"
    assert (again.status_code, again.json()["reason_code"]) == (200, "duplicate")
    assert snapshot() == before


# The same unstorable strings in the two older webhooks, which parse the same way: GHL's
# (was 429 TRY_AGAIN, retried six times) and a merchant's Stripe (was 503, retried for days).
UNSTORABLE = {
    "nul_value": '{"type": "ContactCreate", "locationId": "loc_main", "x": "a\\u0000b"}',
    "nul_key": '{"type": "ContactCreate", "locationId": "loc_main", "a\\u0000": 1}',
    "surrogate": '{"type": "ContactCreate", "locationId": "loc_main", "x": "\\ud800"}',
    "nan": '{"type": "ContactCreate", "locationId": "loc_main", "x": NaN}',
}


@pytest.mark.parametrize("body", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_ghl_webhook_signed_unstorable_body_is_400_and_stores_nothing(post_ghl, location, body):
    before = snapshot()
    response = post_ghl(body.encode())
    assert (response.status_code, response.json()["reason_code"]) == (400, "INVALID_JSON")
    assert snapshot() == before


@pytest.mark.parametrize("body", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_merchant_stripe_webhook_signed_unstorable_body_is_400_and_stores_nothing(
    client, merchant_location, body
):
    _merchant_event_is_refused(client, body.replace('"type"', '"id": "evt_1", "type"'))


def _merchant_event_is_refused(client, body: str) -> None:
    """Signed for the merchant's endpoint: 400 INVALID_JSON, nothing stored."""
    before = snapshot()
    response = client.post(
        "/webhooks/stripe/loc_main",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_header(body.encode()),
    )
    assert (response.status_code, response.json()["reason_code"]) == (400, "INVALID_JSON")
    assert snapshot() == before


# --- billing pages: checkout, portal, trial ---------------------------------------------------

BILLING_POSTS = ["billing-checkout", "billing-portal", "billing-start-trial"]


@pytest.mark.parametrize("name", BILLING_POSTS)
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_billing_actions_refuse_other_methods(login, owner, name, method):
    before = snapshot()
    response = getattr(login(owner), method)(reverse(name))
    assert response.status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("name", BILLING_POSTS)
def test_billing_actions_without_csrf_are_403(login, owner, workspace, name):
    workspace.billing_status = "none"
    workspace.save()
    before = snapshot()
    response = login(owner, enforce_csrf_checks=True).post(reverse(name))
    assert response.status_code == 403
    assert snapshot() == before


NEXT_VALUES = {
    "huge": HUGE,
    "nul": "/billing/\x00",
    "other_host": "https://evil.example/",
    "scheme_relative": "//evil.example/",
    "backslashes": "/\\evil.example",
    "javascript": "javascript:alert(1)",
    "newline": "/billing/\r\nSet-Cookie: x=1",
    "list": ["/a/", "/b/"],
}


@pytest.mark.parametrize("value", NEXT_VALUES.values(), ids=NEXT_VALUES.keys())
def test_start_trial_with_a_hostile_next_stays_on_site(login, owner, workspace, value):
    workspace.billing_status, workspace.trial_ends_at = "none", None
    workspace.save()
    response = login(owner).post(reverse("billing-start-trial"), {"next": value})
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith("/") and not target.startswith(("//", "/\\")), target
    assert "\n" not in target and "\r" not in target and "\x00" not in target
    workspace.refresh_from_db()
    assert workspace.billing_status == "trialing"  # the action itself was valid


def test_start_trial_twice_starts_one_trial(login, owner, workspace):
    workspace.billing_status, workspace.trial_ends_at = "none", None
    workspace.save()
    client = login(owner)
    client.post(reverse("billing-start-trial"))
    before = snapshot()
    response = client.post(reverse("billing-start-trial"), follow=True)
    assert "only be started once" in response.content.decode()
    assert snapshot() == before


def test_checkout_twice_writes_nothing(login, owner, workspace, stripe_billing):
    workspace.billing_status, workspace.trial_ends_at = "none", None
    workspace.save()
    client = login(owner)
    before = snapshot()
    first = client.post(reverse("billing-checkout"))
    second = client.post(reverse("billing-checkout"))
    assert first.status_code == second.status_code == 302
    assert snapshot() == before


def test_portal_without_a_customer_is_a_message_not_an_error(
    login,
    owner,
    stripe_billing,
):
    before = snapshot()
    response = login(owner).post(reverse("billing-portal"), {"customer": "cus_someone_else"})
    assert (response.status_code, response["Location"]) == (302, reverse("billing"))
    assert snapshot() == before


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_billing_page_query_is_harmless(login, owner, value):
    response = login(owner).get(f"{reverse('billing')}?checkout={value}")
    assert response.status_code == 200


# --- the embed: /embed/auth (SPEC §5.4) ---------------------------------------------------------


def _no_session(response) -> bool:
    return "kotally_embed" not in response.cookies


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_embed_auth_wrong_method_is_405(client, ghl_location, method):
    response = getattr(client, method)(AUTH)
    assert response.status_code == 405
    assert _no_session(response)


def _real_payload() -> str:
    return ghl_payload("loc_ghl")


def _tampered() -> str:
    raw = bytearray(base64.b64decode(_real_payload()))
    raw[20] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


# (content type, raw body) posted to /embed/auth: never a session, never a 5xx.
AUTH_BODIES = {
    "form_encoded": ("application/x-www-form-urlencoded", "payload=U2FsdGVkX1"),
    "text_plain": ("text/plain", '{"payload": "U2FsdGVkX1"}'),
    "empty": ("application/json", ""),
    "invalid_json": ("application/json", "{"),
    "invalid_utf8": ("application/json", b'{"payload": "\xff\xfe"}'),
    "array": ("application/json", "[]"),
    "string": ("application/json", '"U2FsdGVkX1"'),
    "null": ("application/json", "null"),
    "payload_int": ("application/json", json.dumps({"payload": 2**63})),
    "payload_list": ("application/json", json.dumps({"payload": ["a"]})),
    "payload_object": ("application/json", json.dumps({"payload": {"a": 1}})),
    "payload_null": ("application/json", json.dumps({"payload": None})),
    "payload_true": ("application/json", json.dumps({"payload": True})),
    "payload_huge": ("application/json", json.dumps({"payload": HUGE})),
    "payload_nul": ("application/json", json.dumps({"payload": "U2FsdGVk\x00X1"})),
    "payload_surrogate": ("application/json", '{"payload": "\\ud800"}'),
    "deep": ("application/json", '{"payload": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "not_base64": ("application/json", json.dumps({"payload": "!!not base64!!"})),
    "not_salted": (
        "application/json",
        json.dumps({"payload": base64.b64encode(b"x" * 48).decode()}),
    ),
    "tampered": ("application/json", None),
    "wrong_secret": ("application/json", None),
    "truncated": ("application/json", None),
}


def _auth_body(case: str, raw):
    if case == "tampered":
        return json.dumps({"payload": _tampered()})
    if case == "wrong_secret":
        return json.dumps({"payload": ghl_payload("loc_ghl", secret="not-our-secret")})
    if case == "truncated":
        return json.dumps({"payload": _real_payload()[:-8]})
    return raw


@pytest.mark.parametrize("case", AUTH_BODIES.keys())
def test_embed_auth_refuses_a_malformed_body(client, ghl_location, case):
    content_type, raw = AUTH_BODIES[case]
    before = snapshot()
    response = client.post(AUTH, data=_auth_body(case, raw), content_type=content_type)
    assert response.status_code == 401
    assert b"Open Kotally" in response.content
    assert _no_session(response)
    assert snapshot() == before


# Contexts encrypted with the right secret (only GHL has it) that are still unusable.
BAD_CONTEXTS = {
    "not_json": ("plain", "not json", 401),
    "array": ("plain", "[]", 401),
    "user_id_int": ("context", {"userId": 123}, 401),
    "user_id_empty": ("context", {"userId": ""}, 401),
    "user_id_null": ("context", {"userId": None}, 401),
    "location_int": ("context", {"activeLocation": 2**63}, 401),
    "location_list": ("context", {"activeLocation": ["loc_ghl"]}, 401),
    "location_empty": ("context", {"activeLocation": ""}, 403),
    "location_nul": ("context", {"activeLocation": "loc_ghl\x00"}, 403),
    "location_surrogate": ("context", {"activeLocation": "\ud800"}, 403),
    "location_long": ("context", {"activeLocation": "l" * 5000}, 403),
    "location_unknown": ("context", {"activeLocation": "loc_nowhere"}, 403),
    "location_api": ("context", {"activeLocation": "loc_main"}, 403),
}


@pytest.mark.parametrize("case", BAD_CONTEXTS.keys())
def test_embed_auth_refuses_an_authentic_but_unusable_context(client, ghl_location, location, case):
    kind, value, status = BAD_CONTEXTS[case]
    if kind == "plain":
        payload = encrypt(value)
    else:
        context = {**user_context("loc_ghl"), **value}
        payload = encrypt(json.dumps(context))
    before = snapshot()
    response = client.post(AUTH, {"payload": payload}, content_type="application/json")
    assert response.status_code == status
    assert _no_session(response)
    assert snapshot() == before


def test_embed_auth_twice_is_two_sessions_and_no_rows(client, ghl_location):
    before = snapshot()
    assert sign_in(client, "loc_ghl").status_code == 204
    assert sign_in(client, "loc_ghl").status_code == 204
    assert snapshot() == before


# --- the embed pages --------------------------------------------------------------------------


@pytest.fixture
def embed(client, ghl_location, rows):
    from tests.embed.conftest import grant
    from tests.factories import ProductConfigFactory

    config = ProductConfigFactory(location=ghl_location, name="GHL Pack")
    grant(ghl_location, "ghl-member", config, "ghl:invoice:hostile", "Gina Member")
    assert sign_in(client, "loc_ghl").status_code == 204
    return client


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_embed_dashboard_search_is_harmless(embed, value):
    before = snapshot()
    response = embed.get(f"/embed/dashboard?q={value}")
    assert response.status_code == 200
    assert snapshot() == before


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_embed_panel_unknown_contact_is_404_page(embed, value):
    before = snapshot()
    response = embed.get(f"/embed/panel?contact_id={value}")
    assert response.status_code == 404
    assert b"Open Kotally" in response.content
    assert snapshot() == before


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_embed_index_contact_is_harmless(client, ghl_location, value):
    assert client.get(f"/embed/?contact_id={value}").status_code == 200


FORGED_COOKIES = {
    "garbage": "garbage",
    "huge": "a" * 4000,
    "unsigned_json": base64.b64encode(b'{"l": 1, "u": "x", "n": "x"}').decode(),
    "other_salt": None,
}


@pytest.mark.parametrize("case", FORGED_COOKIES.keys())
@pytest.mark.parametrize("page", ["/embed/dashboard", "/embed/panel?contact_id=ghl-member"])
def test_embed_forged_session_cookie_is_401(client, ghl_location, rows, case, page):
    from django.core import signing

    value = FORGED_COOKIES[case] or signing.dumps({"l": ghl_location.pk, "u": "x", "n": "x"})
    client.cookies["kotally_embed"] = value
    response = client.get(page)
    assert response.status_code == 401


SANDBOX_TOKEN = "sandbox-token-hostile"


@pytest.fixture
def sandbox(settings, ghl_location):
    settings.EMBED_SANDBOX_TOKEN = SANDBOX_TOKEN


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_embed_sandbox_hostile_token_is_401(client, sandbox, value):
    response = client.get(f"/embed/sandbox-launch?location_id=loc_ghl&token={value}")
    assert response.status_code == 401
    assert _no_session(response)


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_embed_sandbox_hostile_location_is_403(client, sandbox, value):
    before = snapshot()
    response = client.get(f"/embed/sandbox-launch?token={SANDBOX_TOKEN}&location_id={value}")
    assert response.status_code == 403
    assert _no_session(response)
    assert snapshot() == before


# --- confirmation pages (kotally/lib/confirm.py) ------------------------------------------------


@pytest.fixture
def confirms(location, package, token, viewer):
    """(url name, path args) of each confirmation page, the owner may use all of them."""
    api_client = ApiClient.objects.get()
    return {
        "location-remove": [location.location_id],
        "api-client-rotate": [api_client.client_id],
        "api-client-deactivate": [api_client.client_id],
        "product-config-remove": [package.public_id],
        "member-remove": [viewer.memberships.get().pk],
    }


CONFIRMS = [
    "location-remove",
    "api-client-rotate",
    "api-client-deactivate",
    "product-config-remove",
    "member-remove",
]


@pytest.mark.parametrize("name", CONFIRMS)
@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
def test_confirmation_page_with_a_hostile_query_changes_nothing(
    login, owner, confirms, name, value
):
    client = login(owner)
    before = snapshot()
    response = client.get(f"{reverse(name, args=confirms[name])}?next={value}&expires={value}")
    assert response.status_code == 200
    assert b"<form" in response.content
    assert snapshot() == before


@pytest.mark.parametrize("name", CONFIRMS)
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_confirmation_wrong_method_is_405(login, owner, confirms, name, method):
    before = snapshot()
    response = getattr(login(owner), method)(reverse(name, args=confirms[name]))
    assert response.status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("name", CONFIRMS)
def test_confirmation_without_csrf_is_403(login, owner, confirms, name):
    before = snapshot()
    response = login(owner, enforce_csrf_checks=True).post(reverse(name, args=confirms[name]))
    assert response.status_code == 403
    assert snapshot() == before


# Ids in the path that name nothing of this workspace: 404, never a 500.
BOGUS_PATHS = {
    "/locations/{}/remove/": [
        "loc_nowhere",
        "%00",
        quote(NUL),
        "l" * 10_000,
        "%FF",
        "loc_stranger",
    ],
    "/api-clients/{}/rotate/": ["00000000-0000-0000-0000-000000000000"],
    "/api-clients/{}/deactivate/": ["ffffffff-ffff-ffff-ffff-ffffffffffff"],
    "/product-configs/{}/remove/": ["pc_nowhere", "%00", "p" * 10_000, "%ED%A0%80"],
    "/settings/members/{}/remove/": [str(2**63), str(2**64), "9" * 5000, "0"],
}


@pytest.mark.parametrize(
    "path",
    [template.format(ident) for template, idents in BOGUS_PATHS.items() for ident in idents],
    ids=lambda path: path[:60],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_confirmation_of_an_unknown_object_is_404(
    login, owner, confirms, stranger_location, path, method
):
    before = snapshot()
    response = getattr(login(owner), method)(path)
    assert response.status_code == 404
    assert snapshot() == before


EXPIRES = {
    "unknown": "forever",
    "empty": "",
    "huge": HUGE,
    "nul": "1h\x00",
    "number": "3600",
    "negative": "-1h",
    "case": "1H",
}


@pytest.mark.parametrize("value", EXPIRES.values(), ids=EXPIRES.keys())
def test_rotate_with_an_unknown_expiry_is_400_and_rotates_nothing(login, owner, confirms, value):
    before = snapshot()
    url = reverse("api-client-rotate", args=confirms["api-client-rotate"])
    response = login(owner).post(url, {"expires": value})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose when the old token stops working" in html and "<form" in html
    assert snapshot() == before


def test_rotate_with_two_expiry_choices_is_400(login, owner, confirms):
    before = snapshot()
    url = reverse("api-client-rotate", args=confirms["api-client-rotate"])
    response = login(owner).post(url, {"expires": ["now", "24h"]})
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("expires", ["now", "1h", "24h"])
def test_rotate_with_each_offered_expiry_still_rotates(login, owner, confirms, expires):
    client = ApiClient.objects.get()
    old = client.secret_hash
    url = reverse("api-client-rotate", args=confirms["api-client-rotate"])
    assert login(owner).post(url, {"expires": expires}).status_code == 302
    client.refresh_from_db()
    assert client.secret_hash != old
    assert (client.previous_secret_expires_at is None) == (expires == "now")


def test_rotate_without_a_choice_keeps_its_default_of_now(login, owner, confirms):
    url = reverse("api-client-rotate", args=confirms["api-client-rotate"])
    assert login(owner).post(url).status_code == 302
    assert ApiClient.objects.get().previous_secret_expires_at is None


@pytest.mark.parametrize(
    "name", ["location-remove", "api-client-deactivate", "product-config-remove", "member-remove"]
)
def test_confirming_twice_changes_nothing_the_second_time(login, owner, confirms, name):
    client = login(owner)
    url = reverse(name, args=confirms[name])
    assert client.post(url).status_code == 302
    before = snapshot()
    response = client.post(url)
    assert response.status_code in (302, 404)  # "already removed", or gone from the workspace
    assert snapshot() == before


# --- API request log, Events, contacts: filters, search, cursors, CSV -----------------------------

# (page, its filter params, the status an unknown or harmless value gets)
LISTS = {
    "api-request-log": ["client", "outcome", "q"],
    "events": ["provider", "type", "status", "reason", "q"],
    "events-export": ["provider", "type", "status", "reason", "q"],
    "contacts": ["q", "location", "show"],
    "contacts-export": ["q", "location", "show"],
    "ledger-export": ["location"],
}
CURSOR_LISTS = ["api-request-log", "events", "contacts"]


def _list_cases():
    for name, params in LISTS.items():
        for param in params:
            for case in QUERY_VALUES:
                yield pytest.param(name, param, case, id=f"{name}-{param}-{case}")


def _refused(name: str, param: str, case: str) -> bool:
    """Whether the page answers 400 for this value. NUL can be in no stored value: 400
    everywhere. The contacts list and its exports validate with ContactSearchForm: a location
    or filter that is not one of its choices, or a search over 255 characters, is refused (the
    list shows the form's error; an export sends no file). Elsewhere an unknown value simply
    matches nothing (the request log's `outcome` is a fixed choice: anything else is ignored),
    but a value longer than any stored one is 400 too (SQLite refuses such a LIKE pattern)."""
    if param == "outcome":
        return False
    if case in ("nul", "only_nul", "huge"):
        return True
    if name.startswith("contacts") or name == "ledger-export":
        return param in ("location", "show") or case == "huge"
    return False


@pytest.mark.parametrize(("name", "param", "case"), list(_list_cases()))
def test_list_filters_and_search_are_harmless(login, viewer, rows, name, param, case):
    client = login(viewer)
    before = snapshot()
    response = client.get(f"{reverse(name)}?{param}={QUERY_VALUES[case]}")
    body = read(response)
    if _refused(name, param, case):
        assert response.status_code == 400
        if name == "contacts":
            assert b'class="errorlist' in body  # the search form shows what is wrong
    else:
        assert response.status_code == 200
        if name.endswith("export"):
            assert body.count(b"\n") == 1  # the header only: the value matches nothing
    assert snapshot() == before


@pytest.mark.parametrize("name", ["events", "events-export", "api-request-log"])
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("provider", "stripe_billing"),
        ("status", "refused"),
        ("outcome", "bogus"),
        ("type", "AppointmentCreate"),
    ],
)
def test_known_and_unknown_filter_values_answer_200(login, viewer, rows, name, param, value):
    response = login(viewer).get(reverse(name), {param: value})
    read(response)
    assert response.status_code == 200


@pytest.mark.parametrize("name", CURSOR_LISTS)
@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_forged_cursor_is_400(login, viewer, rows, name, direction, cursor):
    before = snapshot()
    response = login(viewer).get(reverse(name), {direction: cursor})
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("part", ["ledger", "timeline", "payments", "lots"])
@pytest.mark.parametrize("cursor", ["deep", "huge", "nul", "overflow_id", "not_json"])
def test_contact_page_forged_cursor_is_400(login, viewer, rows, part, cursor):
    contact = Contact.objects.get(external_id="member-1")
    response = login(viewer).get(reverse("contact", args=[contact.pk]), {part: BAD_CURSORS[cursor]})
    assert response.status_code == 400


@pytest.mark.parametrize("show", ["", "low", "expiring", "none", "refused"])
def test_contacts_cursor_of_another_order_is_400(login, viewer, rows, show):
    # `low` pages by (credits, created_at, id): a (created_at, id) cursor is not one of its.
    cursor = encode_cursor([WHEN, 1]) if show in ("low",) else encode_cursor([WHEN, 1, 2])
    response = login(viewer).get(reverse("contacts"), {"show": show, "after": cursor})
    assert response.status_code == 400


@pytest.mark.parametrize("name", CURSOR_LISTS)
def test_both_cursors_at_once_are_answered(login, viewer, rows, name):
    cursor = encode_cursor([timezone.now().isoformat(), 10])
    response = login(viewer).get(reverse(name), {"after": cursor, "before": cursor})
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["events-export", "contacts-export", "ledger-export"])
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_exports_refuse_unsafe_methods(login, viewer, rows, name, method):
    before = snapshot()
    response = getattr(login(viewer, enforce_csrf_checks=True), method)(reverse(name))
    assert response.status_code in (403, 405)
    assert snapshot() == before


def test_contacts_export_with_an_invalid_filter_does_not_export_everyone(login, viewer, rows):
    """A filter the form refuses must not fall back to "all contacts" (every email of the
    workspace) in a file the user believes filtered."""
    response = login(viewer).get(reverse("contacts-export"), {"location": "loc_nowhere"})
    body = read(response)
    assert response.status_code == 400
    assert b"ann@example.com" not in body


# --- outbound endpoint form (outbound/) ---------------------------------------------------------


@pytest.fixture
def no_dns(monkeypatch):
    """Host names resolve to a public address without the network; IP literals to themselves."""

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = "93.184.216.34"
        return [(2, 1, 6, "", (address, port))]

    monkeypatch.setattr("socket.getaddrinfo", getaddrinfo)


ENDPOINTS = "/locations/loc_main/webhooks/"
GOOD = {"url": "https://hooks.example.com/kotally", "event_types": ["credits.low"]}

BAD_ENDPOINT_FORMS = {
    "missing_url": {"event_types": ["credits.low"]},
    "missing_types": {"url": GOOD["url"]},
    "huge_url": {**GOOD, "url": "https://hooks.example.com/" + HUGE},
    "nul_url": {**GOOD, "url": "https://hooks.example.com/\x00"},
    "nul_host": {**GOOD, "url": "https://hooks\x00.example.com/"},
    "javascript_url": {**GOOD, "url": "javascript:alert(1)"},
    "http_url": {**GOOD, "url": "http://hooks.example.com/"},
    "loopback": {**GOOD, "url": "https://127.0.0.1/"},
    "ipv6_loopback": {**GOOD, "url": "https://[::1]/"},
    "bad_port": {**GOOD, "url": "https://hooks.example.com:99999/"},
    "long_label": {**GOOD, "url": "https://" + "a" * 64 + ".example.com/"},
    "userinfo": {**GOOD, "url": "https://user:pass@@hooks.example.com/"},
    "two_urls": {**GOOD, "url": [GOOD["url"], "https://127.0.0.1/"]},
    "unknown_type": {**GOOD, "event_types": ["credits.stolen"]},
    "huge_type": {**GOOD, "event_types": [HUGE]},
    "nul_type": {**GOOD, "event_types": ["credits.low\x00"]},
    "empty_types": {**GOOD, "event_types": []},
}


@pytest.mark.parametrize("form", BAD_ENDPOINT_FORMS.values(), ids=BAD_ENDPOINT_FORMS.keys())
def test_endpoint_form_with_bad_input_is_400_and_creates_nothing(
    login, admin_user, location, no_dns, form
):
    before = snapshot()
    response = login(admin_user).post(ENDPOINTS, form)
    assert response.status_code == 400
    assert b'class="errorlist' in response.content
    assert snapshot() == before


def test_endpoint_form_with_invalid_utf8_is_400(login, admin_user, location, no_dns):
    before = snapshot()
    response = login(admin_user).post(
        ENDPOINTS,
        data=b"url=https%3A%2F%2Fhooks.example.com%2F%FF&event_types=credits.%FF",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_endpoint_form_as_json_is_400(login, admin_user, location, no_dns):
    before = snapshot()
    response = login(admin_user).post(ENDPOINTS, GOOD, content_type="application/json")
    assert response.status_code == 400
    assert snapshot() == before


def test_endpoint_form_submitted_twice_adds_one_endpoint(login, admin_user, location, no_dns):
    client = login(admin_user)
    assert client.post(ENDPOINTS, GOOD).status_code == 302
    before = snapshot()
    response = client.post(ENDPOINTS, GOOD)
    assert response.status_code == 400
    assert "already" in response.content.decode()
    assert snapshot() == before
    assert Endpoint.objects.count() == 1


def test_endpoint_form_without_csrf_is_403(login, admin_user, location, no_dns):
    before = snapshot()
    response = login(admin_user, enforce_csrf_checks=True).post(ENDPOINTS, GOOD)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_endpoint_list_wrong_method_is_405(login, admin_user, location, no_dns, method):
    before = snapshot()
    response = getattr(login(admin_user), method)(ENDPOINTS)
    assert response.status_code == 405
    assert snapshot() == before


@pytest.fixture
def endpoint(location, no_dns):
    created, _ = endpoint_create(location=location, url=GOOD["url"], event_types=["credits.low"])
    return created


@pytest.mark.parametrize(
    "value", ["²", "¹²", "9" * 5000, str(2**63), str(2**64), "-1", "1.5", "%00", "%FF", "0x10"]
)
def test_endpoint_log_page_cursor_is_404_or_read(login, admin_user, endpoint, value):
    url = f"{ENDPOINTS}{endpoint.public_id}/?before={value}"
    response = login(admin_user).get(url)
    assert response.status_code in (200, 404)


@pytest.mark.parametrize("action", ["bogus", "%00", "x" * 5000, "DELETE"])
def test_endpoint_unknown_action_is_404_and_changes_nothing(login, admin_user, endpoint, action):
    before = snapshot()
    response = login(admin_user).post(f"{ENDPOINTS}{endpoint.public_id}/{action}/")
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("delivery", [str(2**63), str(2**64), "9" * 5000, "0"])
def test_resend_of_an_unknown_delivery_is_404(login, admin_user, endpoint, delivery):
    before = snapshot()
    url = f"{ENDPOINTS}{endpoint.public_id}/deliveries/{delivery}/resend/"
    assert login(admin_user).post(url).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("name", ["disable", "enable", "delete"])
def test_endpoint_actions_without_csrf_are_403(login, admin_user, endpoint, name):
    before = snapshot()
    url = f"{ENDPOINTS}{endpoint.public_id}/{name}/"
    assert login(admin_user, enforce_csrf_checks=True).post(url).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("ident", ["%00", "whe_" + "x" * 5000, "%FF", quote(NUL)])
def test_endpoint_of_an_unknown_id_is_404(login, admin_user, endpoint, ident):
    assert login(admin_user).get(f"{ENDPOINTS}{ident}/").status_code == 404


@pytest.mark.parametrize("location_id", ["%00", "l" * 10_000, "%ED%A0%80", "loc_stranger"])
def test_endpoints_of_an_unknown_location_are_404(
    login, admin_user, location, stranger_location, location_id
):
    before = snapshot()
    client = login(admin_user)
    assert client.get(f"/locations/{location_id}/webhooks/").status_code == 404
    assert client.post(f"/locations/{location_id}/webhooks/", GOOD).status_code == 404
    assert snapshot() == before


# A merchant's event keys the inbox as "<location id>:<event id>": an event without a usable id
# would share the key "loc_main:" (or a cut one) with other events and be dropped as their
# duplicate.
BAD_EVENT_IDS = {"missing": None, "empty": "", "number": 7, "list": ["evt_1"], "long": "e" * 300}


@pytest.mark.parametrize("event_id", BAD_EVENT_IDS.values(), ids=BAD_EVENT_IDS.keys())
def test_merchant_stripe_webhook_event_without_a_usable_id_is_400(
    client, merchant_location, event_id
):
    event = {"type": "checkout.session.completed", "data": {"object": {}}}
    if event_id is not None:
        event["id"] = event_id
    _merchant_event_is_refused(client, json.dumps(event))
