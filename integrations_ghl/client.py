"""Every HTTP call Kotally makes to GoHighLevel goes through this module (SPEC §5.1).

One `requests.Session`, explicit timeouts, the `Version` header each endpoint requires,
a per-location limiter (GHL allows 100 requests / 10 s per app and location) and a bounded
backoff when GHL still answers 429. Calls that need a location token take a `TokenSource`
(integrations_ghl.oauth.token_source): on a 401 the client asks it to refresh once and retries.

Vendor docs: https://marketplace.gohighlevel.com/docs/ghl/ (one link above each call).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("kotally.ghl")

V_CALENDARS = "2021-04-15"  # calendars and calendar events
V_DEFAULT = "2021-07-28"  # everything else


class GhlError(Exception):
    """GHL failed or could not be reached. `retryable` marks transient failures (5xx,
    timeouts, connection errors) that a task may retry."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class GhlAuthError(GhlError):
    """The token or grant was refused (401, `invalid_grant`): the installation needs a new
    OAuth consent."""


class GhlRateLimited(GhlError):
    """Over GHL's rate limit after bounded retries; `retry_after` seconds is a fair wait."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, status=429, retryable=True)
        self.retry_after = retry_after


class TokenSource(Protocol):
    """Where an API call gets its bearer token (see oauth.token_source). `ghl_id` is the
    location id (or the company id for an agency token): the rate-limit key and `altId`."""

    ghl_id: str

    def access_token(self) -> str: ...

    def refreshed_token(self, stale: str) -> str: ...


_session: requests.Session | None = None
# Indirection so tests can observe the waits without sleeping.
_sleep = time.sleep


def _http() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["Accept"] = "application/json"
    return _session


def _url(path: str) -> str:
    return settings.GHL_API_BASE.rstrip("/") + path


def _timeout() -> tuple[float, float]:
    return (settings.GHL_CONNECT_TIMEOUT, settings.GHL_READ_TIMEOUT)


def _take_slot(rate_key: str) -> None:
    """Fixed-window counter in the shared cache, so every web and worker process counts
    against the same 100 / 10 s budget of a location. Raises GhlRateLimited when spent."""
    window = settings.GHL_RATE_LIMIT_WINDOW_SECONDS
    now = time.time()
    key = f"ghl:ratelimit:{rate_key}:{int(now // window)}"
    cache.add(key, 0, timeout=window + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr: start the window again
        cache.set(key, 1, timeout=window + 1)
        used = 1
    if used > settings.GHL_RATE_LIMIT_REQUESTS:
        raise GhlRateLimited(
            f"local GHL budget for {rate_key} spent", retry_after=window - (now % window)
        )


def _backoff_seconds(response: requests.Response, attempt: int) -> float:
    """How long GHL asks us to wait: Retry-After when sent, else the rate-limit interval
    when the window is spent, else exponential; never more than GHL_MAX_BACKOFF_SECONDS."""
    headers = response.headers
    wait = None
    if headers.get("Retry-After", "").replace(".", "", 1).isdigit():
        wait = float(headers["Retry-After"])
    elif headers.get("X-RateLimit-Remaining") == "0" and headers.get(
        "X-RateLimit-Interval-Milliseconds", ""
    ).isdigit():
        wait = int(headers["X-RateLimit-Interval-Milliseconds"]) / 1000
    if wait is None:
        wait = 2.0**attempt
    return min(wait, settings.GHL_MAX_BACKOFF_SECONDS)


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _send(method: str, path: str, *, version: str, rate_key: str | None = None,
          token: str | None = None, params: dict | None = None,
          data: dict | None = None, json: dict | None = None) -> dict[str, Any]:
    """One GHL call with the limiter and 429 backoff; returns the JSON body."""
    headers = {"Version": version}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    attempt = 0
    while True:
        if rate_key:
            _take_slot(rate_key)
        try:
            response = _http().request(method, _url(path), headers=headers, params=params,
                                       data=data, json=json, timeout=_timeout())
        except requests.RequestException as exc:
            raise GhlError(f"GHL unreachable: {type(exc).__name__}", retryable=True) from exc
        if response.status_code != 429:
            break
        daily_spent = response.headers.get("X-RateLimit-Daily-Remaining") == "0"
        if daily_spent or attempt >= settings.GHL_MAX_429_RETRIES:
            raise GhlRateLimited(
                f"GHL rate limit on {path}", retry_after=_backoff_seconds(response, attempt)
            )
        wait = _backoff_seconds(response, attempt)
        logger.info("ghl 429 on %s, retrying in %.1fs", path, wait)
        _sleep(wait)
        attempt += 1

    if response.status_code == 401 or _error_code(response) == "invalid_grant":
        raise GhlAuthError(f"GHL refused the credentials on {path}", status=response.status_code)
    if response.status_code >= 400:
        raise GhlError(f"GHL answered {response.status_code} on {path}",
                       status=response.status_code, retryable=response.status_code >= 500)
    try:
        return response.json()
    except ValueError as exc:
        raise GhlError(f"GHL sent a non-JSON body on {path}", retryable=True) from exc


def _authed(auth: TokenSource, method: str, path: str, *, version: str = V_DEFAULT,
            params: dict | None = None, data: dict | None = None,
            json: dict | None = None) -> dict[str, Any]:
    """A call with the installation's token; a 401 refreshes the token once and retries."""
    token = auth.access_token()
    try:
        return _send(method, path, version=version, rate_key=auth.ghl_id, token=token,
                     params=params, data=data, json=json)
    except GhlAuthError:
        fresh = auth.refreshed_token(token)
    return _send(method, path, version=version, rate_key=auth.ghl_id, token=fresh,
                 params=params, data=data, json=json)


# --- OAuth ---------------------------------------------------------------------------------


def exchange_code(*, code: str, user_type: str, redirect_uri: str) -> dict[str, Any]:
    """Trade an authorization code for a token pair.

    https://marketplace.gohighlevel.com/docs/ghl/oauth/get-access-token
    """
    return _send("POST", "/oauth/token", version=V_DEFAULT, data={
        "client_id": settings.GHL_CLIENT_ID,
        "client_secret": settings.GHL_CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": code,
        "user_type": user_type,
        "redirect_uri": redirect_uri,
    })


def refresh(*, refresh_token: str, user_type: str) -> dict[str, Any]:
    """Rotate a token pair: the answer carries a NEW refresh token, the old one is dead.

    https://marketplace.gohighlevel.com/docs/ghl/oauth/get-access-token
    """
    return _send("POST", "/oauth/token", version=V_DEFAULT, data={
        "client_id": settings.GHL_CLIENT_ID,
        "client_secret": settings.GHL_CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "user_type": user_type,
    })


def location_token(company: TokenSource, *, location_id: str) -> dict[str, Any]:
    """Mint a location token pair from an agency (company) token.

    https://marketplace.gohighlevel.com/docs/ghl/oauth/get-location-access-token
    """
    return _authed(company, "POST", "/oauth/locationToken",
                   data={"companyId": company.ghl_id, "locationId": location_id})


# --- Reads with a location token ------------------------------------------------------------


def get_contact(auth: TokenSource, contact_id: str) -> dict[str, Any]:
    """https://marketplace.gohighlevel.com/docs/ghl/contacts/get-contact"""
    return _authed(auth, "GET", f"/contacts/{contact_id}").get("contact", {})


def list_calendars(auth: TokenSource) -> list[dict[str, Any]]:
    """https://marketplace.gohighlevel.com/docs/ghl/calendars/get-calendars"""
    body = _authed(auth, "GET", "/calendars/", version=V_CALENDARS,
                       params={"locationId": auth.ghl_id})
    return body.get("calendars", [])


def list_products(auth: TokenSource, *, limit: int = 100, offset: int = 0) -> list[dict]:
    """List Products (GHL's doc slug really is list-invoices).

    https://marketplace.gohighlevel.com/docs/ghl/products/list-invoices
    """
    body = _authed(auth, "GET", "/products/", params={
        "locationId": auth.ghl_id, "limit": limit, "offset": offset})
    return body.get("products", [])


def list_prices(auth: TokenSource, product_id: str) -> list[dict[str, Any]]:
    """https://marketplace.gohighlevel.com/docs/ghl/products/list-prices-for-product"""
    body = _authed(auth, "GET", f"/products/{product_id}/price",
                       params={"locationId": auth.ghl_id})
    return body.get("prices", [])


def get_invoice(auth: TokenSource, invoice_id: str) -> dict[str, Any]:
    """https://marketplace.gohighlevel.com/docs/ghl/invoices/get-invoice"""
    return _authed(auth, "GET", f"/invoices/{invoice_id}",
                       params={"altId": auth.ghl_id, "altType": "location"})


def list_orders(auth: TokenSource, **filters: Any) -> list[dict[str, Any]]:
    """Paid orders by default; `filters` adds query parameters (startAt, endAt, limit, ...).

    https://marketplace.gohighlevel.com/docs/ghl/payments/list-orders
    """
    params = {"altId": auth.ghl_id, "altType": "location", "paymentStatus": "paid",
              **filters}
    return _authed(auth, "GET", "/payments/orders", params=params).get("data", [])


def get_location(auth: TokenSource) -> dict[str, Any]:
    """https://marketplace.gohighlevel.com/docs/ghl/locations/get-location"""
    return _authed(auth, "GET", f"/locations/{auth.ghl_id}").get("location", {})


# --- Writes with a location token (the write-back, integrations_ghl.writeback) --------------
# Endpoints and bodies: GoHighLevel/highlevel-api-docs apps/contacts.json and
# apps/locations.json (docs/outbound.md lists the facts used).


def list_custom_fields(auth: TokenSource) -> list[dict[str, Any]]:
    """Contact custom fields of the location (scope locations/customFields.readonly).

    https://marketplace.gohighlevel.com/docs/ghl/locations/get-custom-fields
    """
    body = _authed(auth, "GET", f"/locations/{auth.ghl_id}/customFields",
                   params={"model": "contact"})
    return body.get("customFields", [])


def create_custom_field(auth: TokenSource, *, name: str, data_type: str) -> dict[str, Any]:
    """A contact custom field (scope locations/customFields.write); answers `customField`.

    https://marketplace.gohighlevel.com/docs/ghl/locations/create-custom-field
    """
    body = _authed(auth, "POST", f"/locations/{auth.ghl_id}/customFields",
                   json={"name": name, "dataType": data_type, "model": "contact"})
    return body.get("customField", {})


def set_contact_field(auth: TokenSource, contact_id: str, *, field_id: str, value) -> None:
    """Set one custom field of a contact (scope contacts.write); other fields are untouched.

    https://marketplace.gohighlevel.com/docs/ghl/contacts/update-contact
    """
    _authed(auth, "PUT", f"/contacts/{contact_id}",
            json={"customFields": [{"id": field_id, "field_value": value}]})


def add_contact_tags(auth: TokenSource, contact_id: str, tags: list[str]) -> None:
    """https://marketplace.gohighlevel.com/docs/ghl/contacts/add-tags"""
    _authed(auth, "POST", f"/contacts/{contact_id}/tags", json={"tags": tags})


def remove_contact_tags(auth: TokenSource, contact_id: str, tags: list[str]) -> None:
    """https://marketplace.gohighlevel.com/docs/ghl/contacts/remove-tags"""
    _authed(auth, "DELETE", f"/contacts/{contact_id}/tags", json={"tags": tags})
