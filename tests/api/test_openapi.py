"""The OpenAPI schema (SPEC §3.10) is valid OAS 3.1 and matches the real responses: every
endpoint is driven (success, refusal, transport error) and each body is validated against the
schema's response for that path, method and status — with unknown properties refused, so a
field the schema does not document fails the test."""

import copy
import json
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from api.services import api_client_create
from entitlements import idempotency
from entitlements.models import PaymentEvent

from .conftest import POSTS, V2, check_body, grant_body, move_body, read_url

_CACHE = {}


def _spec() -> dict:
    if "spec" not in _CACHE:
        response = Client().get(f"{V2}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        _CACHE["spec"] = json.loads(response.content)
    return _CACHE["spec"]


def _closed(components: dict) -> dict:
    """Components where every object schema refuses properties it does not declare."""
    closed = copy.deepcopy(components)
    for schema in closed["schemas"].values():
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
    return closed


def _validator(path: str, method: str, status: int) -> Draft202012Validator:
    spec = _spec()
    operation = spec["paths"][path][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": _closed(spec["components"])})


def test_schema_is_valid_openapi_3_1(db):
    spec = _spec()
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_schema_is_served_without_a_token(db):
    assert Client().get(f"{V2}/schema/").status_code == 200


def test_docs_page_renders_html(db):
    response = Client().get(f"{V2}/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_schema_documents_bearer_auth(db):
    schemes = _spec()["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"


CONTACT = f"{V2}/contacts/{{contact_id}}"
READ_PATHS = {
    "": CONTACT,
    "/summary": f"{CONTACT}/summary",
    "/credits": f"{CONTACT}/credits",
    "/entitlements": f"{CONTACT}/entitlements",
    "/appointments/upcoming": f"{CONTACT}/appointments/upcoming",
    "/appointments/past": f"{CONTACT}/appointments/past",
    "/ledger": f"{CONTACT}/ledger",
    "/payments": f"{CONTACT}/payments",
    "/timeline": f"{CONTACT}/timeline",
}


def _no_scope(ctx, method, url, body=None):
    _, raw = api_client_create(location=ctx.location, name="none", scopes=[])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return getattr(client, method)(url, body, format="json") if body else client.get(url)


def _rate_limited(ctx, url):
    ctx.settings.API_RATE_LIMIT_BURST, ctx.settings.API_RATE_LIMIT_PER_SECOND = 1, 0.01
    ctx.settings.REDIS_URL = ""
    ctx.api.get(url)
    return ctx.api.get(url)


def _crash(ctx, body):
    ctx.monkeypatch.setattr(
        idempotency._INSERT, "run", lambda *a, **kw: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    return ctx.api.post_json(POSTS["deduct"], body)


def _twice(ctx, url, first, second):
    ctx.api.post_json(url, first)
    return ctx.api.post_json(url, second)


# (case id, schema path, method, status, request)
CASES = [
    (
        "grant",
        f"{V2}/grants",
        "post",
        200,
        lambda c: c.api.post_json(POSTS["grants"], grant_body(c.package, amount_cents=100)),
    ),
    (
        "grant-duplicate",
        f"{V2}/grants",
        "post",
        200,
        lambda c: c.api.post_json(
            POSTS["grants"], grant_body(c.package, external_payment_id=c.member_payment)
        ),
    ),
    (
        "grant-400",
        f"{V2}/grants",
        "post",
        400,
        lambda c: c.api.post_json(POSTS["grants"], {"location_id": 1}),
    ),
    (
        "grant-403-scope",
        f"{V2}/grants",
        "post",
        403,
        lambda c: _no_scope(c, "post", POSTS["grants"], grant_body(c.package)),
    ),
    (
        "grant-403-location",
        f"{V2}/grants",
        "post",
        403,
        lambda c: c.api.post_json(POSTS["grants"], grant_body(c.package, location_id="loc_x")),
    ),
    (
        "grant-422",
        f"{V2}/grants",
        "post",
        422,
        lambda c: _twice(
            c,
            POSTS["grants"],
            grant_body(c.package, request_id="g"),
            grant_body(c.package, request_id="g"),
        ),
    ),
    (
        "check",
        f"{V2}/entitlements/check-eligibility",
        "post",
        200,
        lambda c: c.api.post_json(POSTS["check"], check_body()),
    ),
    (
        "check-refused",
        f"{V2}/entitlements/check-eligibility",
        "post",
        200,
        lambda c: c.api.post_json(POSTS["check"], check_body(amount=50)),
    ),
    (
        "check-401",
        f"{V2}/entitlements/check-eligibility",
        "post",
        401,
        lambda c: APIClient().post(POSTS["check"], check_body(), format="json"),
    ),
    (
        "check-415",
        f"{V2}/entitlements/check-eligibility",
        "post",
        415,
        lambda c: c.api.post(POSTS["check"], "a=b", content_type="text/plain"),
    ),
    (
        "deduct",
        f"{V2}/entitlements/deduct",
        "post",
        200,
        lambda c: c.api.post_json(POSTS["deduct"], move_body(external_ref="apt")),
    ),
    (
        "deduct-refused",
        f"{V2}/entitlements/deduct",
        "post",
        200,
        lambda c: c.api.post_json(POSTS["deduct"], move_body(external_contact_id="nobody")),
    ),
    ("deduct-405", f"{V2}/entitlements/deduct", "post", 405, lambda c: c.api.get(POSTS["deduct"])),
    ("deduct-500", f"{V2}/entitlements/deduct", "post", 500, lambda c: _crash(c, move_body())),
    (
        "restore",
        f"{V2}/entitlements/restore",
        "post",
        200,
        lambda c: (
            _twice(c, POSTS["deduct"], move_body(), move_body())
            and c.api.post_json(POSTS["restore"], move_body())
        ),
    ),
    (
        "restore-refused",
        f"{V2}/entitlements/restore",
        "post",
        200,
        lambda c: c.api.post_json(POSTS["restore"], move_body()),
    ),
    (
        "restore-422",
        f"{V2}/entitlements/restore",
        "post",
        422,
        lambda c: _twice(
            c, POSTS["deduct"], move_body(request_id="x"), move_body(request_id="x", amount=2)
        ),
    ),
    *[
        (
            f"read{suffix}",
            READ_PATHS[suffix],
            "get",
            200,
            lambda c, suffix=suffix: c.api.get(read_url("m1", suffix)),
        )
        for suffix in READ_PATHS
    ],
    *[
        (
            f"read{suffix}-not-found",
            READ_PATHS[suffix],
            "get",
            200,
            lambda c, suffix=suffix: c.api.get(read_url("ghost", suffix)),
        )
        for suffix in READ_PATHS
    ],
    (
        "read-400",
        f"{CONTACT}/ledger",
        "get",
        400,
        lambda c: c.api.get(read_url("m1", "/ledger", cursor="bad")),
    ),
    (
        "read-403-scope",
        f"{CONTACT}/summary",
        "get",
        403,
        lambda c: _no_scope(c, "get", read_url("m1", "/summary")),
    ),
    (
        "read-429",
        f"{CONTACT}/credits",
        "get",
        429,
        lambda c: _rate_limited(c, read_url("m1", "/credits")),
    ),
]


@pytest.fixture
def ctx(api, location, package, member, settings, monkeypatch):
    """m1 with a package lot, an upcoming and a past booking (so every list has items)."""
    api.post_json(
        POSTS["deduct"], move_body(external_ref="apt-up", appointment_time="2099-01-01T10:00:00Z")
    )
    api.post_json(
        POSTS["deduct"], move_body(external_ref="apt-past", appointment_time="2020-01-01T10:00:00Z")
    )
    return SimpleNamespace(
        api=api,
        location=location,
        package=package,
        settings=settings,
        monkeypatch=monkeypatch,
        member_payment=PaymentEvent.objects.get().external_payment_id,
    )


@pytest.mark.parametrize("case_id,path,method,status,send", CASES, ids=[c[0] for c in CASES])
def test_real_response_matches_schema(ctx, case_id, path, method, status, send):
    response = send(ctx)
    assert response.status_code == status, response.content
    errors = [e.message for e in _validator(path, method, status).iter_errors(response.json())]
    assert errors == []


def test_every_documented_operation_is_driven(db):
    documented = {
        (path, method)
        for path, ops in _spec()["paths"].items()
        for method in ops
        if method in {"get", "post"}
    }
    driven = {(path, method) for _, path, method, _, _ in CASES}
    assert documented == driven


def test_schema_generates_without_warnings(db):
    # --fail-on-warn turns any drf-spectacular warning (e.g. an enum name collision or an
    # undocumentable field) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=open("/dev/null", "w"))
