"""Every row of the SPEC §3.1 transport-error table, and the envelope's shape: JSON only, never
HTML, with X-Correlation-Id — also for unknown paths, DEBUG=True and crashes."""

import pytest
from rest_framework.test import APIClient

from entitlements import idempotency
from entitlements.models import LedgerEntry

from .conftest import POSTS, V2, move_body, read_url

ENVELOPE = {"ok", "reason_code", "message", "correlation_id"}


def _is_envelope(response, status, code) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and response["Content-Type"] == "application/json"
        and body["ok"] is False
        and body["reason_code"] == code
        and ENVELOPE <= set(body)
        and body["correlation_id"] == response["X-Correlation-Id"]
    )


def test_malformed_json_is_400_validation_error(api, location):
    response = api.post(POSTS["deduct"], data="{not json", content_type="application/json")
    assert _is_envelope(response, 400, "VALIDATION_ERROR")
    assert "body" in response.json()["errors"]


def test_missing_fields_are_400_with_per_field_errors(api, location):
    response = api.post_json(POSTS["deduct"], {"location_id": "loc_main"})
    assert _is_envelope(response, 400, "VALIDATION_ERROR")
    assert "request_id" in response.json()["errors"]


def test_missing_token_is_401_unauthenticated(db):
    assert _is_envelope(
        APIClient().post(POSTS["deduct"], {}, format="json"), 401, "UNAUTHENTICATED"
    )


def test_wrong_location_is_403_location_forbidden(api, stranger_location):
    response = api.post_json(POSTS["deduct"], move_body(location_id="loc_stranger"))
    assert _is_envelope(response, 403, "LOCATION_FORBIDDEN")


@pytest.mark.parametrize(
    "path",
    [
        f"{V2}/nope",
        f"{V2}/grants/",
        f"{V2}/contacts/m1/unknown",
        f"{V2}/contacts/a/b/c",
        "/api/v1/grants",
        "/api",
        "/api/",
        "/api/v3/entitlements/deduct",
    ],
)
def test_unknown_path_is_404_route_not_found(api, path):
    assert _is_envelope(api.get(path), 404, "ROUTE_NOT_FOUND")


def test_unknown_path_without_token_is_still_json_404(db):
    assert _is_envelope(APIClient().get(f"{V2}/nope"), 404, "ROUTE_NOT_FOUND")


def test_post_to_unknown_path_is_json_404_even_with_csrf_checks(db):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/grants", {}, format="json")
    assert _is_envelope(response, 404, "ROUTE_NOT_FOUND")


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", POSTS["deduct"]),
        ("put", POSTS["grants"]),
        ("delete", POSTS["restore"]),
        ("patch", POSTS["check"]),
        ("post", read_url("m1", "/ledger")),
        ("options", POSTS["deduct"]),
    ],
)
def test_wrong_method_is_405_method_not_allowed(api, location, method, path):
    response = api.generic(method.upper(), path, "{}", content_type="application/json")
    assert _is_envelope(response, 405, "METHOD_NOT_ALLOWED")


def test_wrong_method_with_form_body_is_405_not_415(api, location):
    response = api.post(
        read_url("m1", ""), data="a=b", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 405


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ],
)
def test_non_json_post_is_415_unsupported_media_type(api, location, content_type):
    response = api.generic(
        "POST", POSTS["deduct"], "location_id=loc_main", content_type=content_type
    )
    assert _is_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_charset_is_accepted(api, location):
    response = api.post(
        POSTS["check"],
        data='{"location_id": "loc_main"}',
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 400  # parsed: the body is what is incomplete


def test_html_accept_header_still_gets_json(api, location):
    response = api.get(read_url("m1", ""), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_crash_is_500_internal_error_without_trace_and_nothing_applied(api, member, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    # The stored response is written after the credit change, in its transaction.
    monkeypatch.setattr(idempotency._INSERT, "run", boom)
    response = api.post_json(POSTS["deduct"], move_body(request_id="crash-1"))
    assert _is_envelope(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="deduct").exists()


def test_request_after_a_500_runs_normally(api, member, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(
            idempotency._INSERT, "run", lambda *a, **kw: (_ for _ in ()).throw(RuntimeError("x"))
        )
        api.post_json(POSTS["deduct"], move_body(request_id="crash-2"))
    retry = api.post_json(POSTS["deduct"], move_body(request_id="crash-2"))
    assert retry.json()["reason_code"] == "deducted"
    assert "Idempotent-Replayed" not in retry


def test_crash_in_a_read_is_json_500_with_debug_on(api, location, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setattr(
        "entitlements.selectors.contact_find", lambda *a: (_ for _ in ()).throw(RuntimeError("x"))
    )
    assert _is_envelope(api.get(read_url("m1", "")), 500, "INTERNAL_ERROR")


def test_unknown_path_is_json_with_debug_on(api, settings):
    settings.DEBUG = True
    assert _is_envelope(api.get("/api/v2/does-not-exist"), 404, "ROUTE_NOT_FOUND")


def test_caller_correlation_id_is_echoed(api, location):
    response = api.get(read_url("m1", ""), HTTP_X_CORRELATION_ID="trace-12345678")
    assert response["X-Correlation-Id"] == "trace-12345678"
    assert response.json()["correlation_id"] == "trace-12345678"


def test_unsafe_correlation_id_is_replaced(api, location):
    response = api.get(read_url("m1", ""), HTTP_X_CORRELATION_ID="<script>")
    assert response["X-Correlation-Id"] != "<script>"
    assert response.json()["correlation_id"] == response["X-Correlation-Id"]
