"""Every HTTP call Kotally makes to GoHighLevel goes through this module (SPEC §5.1).

One `requests.Session`, explicit timeouts, the `Version` header each endpoint requires,
a per-location limiter (GHL allows 100 requests / 10 s per app and location) and a bounded
backoff when GHL still answers 429. Calls that need a location token take a `TokenSource`
(integrations_ghl.installations.token_source): on a 401 the client asks it to refresh once and
retries.

Vendor docs: https://marketplace.gohighlevel.com/docs/ghl/ (one link above each call); the
request and answer shapes are checked against the OpenAPI files of GoHighLevel's docs
repository (`GoHighLevel/highlevel-api-docs`, `apps/*.json`), named above each call too.
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


class GhlLocationInactive(GhlError):
    """GHL's `400 Location is not active`: the sub-account's SaaS subscription or the agency
    is paused or canceled. Not worth a retry; the same refresh token works again once GHL
    reactivates the location (apps/v3/oauth-v3.json, POST /oauth/token, `locationNotActive`)."""


class GhlRateLimited(GhlError):
    """Over GHL's rate limit after bounded retries; `retry_after` seconds is a fair wait."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, status=429, retryable=True)
        self.retry_after = retry_after


class TokenSource(Protocol):
    """Where an API call gets its bearer token (see installations.token_source). `ghl_id` is the
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
    elif (
        headers.get("X-RateLimit-Remaining") == "0"
        and headers.get("X-RateLimit-Interval-Milliseconds", "").isdigit()
    ):
        wait = int(headers["X-RateLimit-Interval-Milliseconds"]) / 1000
    if wait is None:
        wait = 2.0**attempt
    return min(wait, settings.GHL_MAX_BACKOFF_SECONDS)


def _error_text(response: requests.Response) -> tuple[str, str]:
    """(OAuth `error` code, `message`) of an error answer; empty strings when absent."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    message = body.get("message", "")
    return str(body.get("error", "")), str(message if isinstance(message, str) else "")[:200]


def _send(
    method: str,
    path: str,
    *,
    version: str,
    rate_key: str | None = None,
    token: str | None = None,
    params: dict | None = None,
    data: dict | None = None,
    json: dict | None = None,
) -> dict[str, Any]:
    """One GHL call with the limiter and 429 backoff; returns the JSON body."""
    headers = {"Version": version}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    attempt = 0
    while True:
        if rate_key:
            _take_slot(rate_key)
        try:
            response = _http().request(
                method,
                _url(path),
                headers=headers,
                params=params,
                data=data,
                json=json,
                timeout=_timeout(),
            )
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

    if response.status_code >= 400:
        _raise_for(response, path)
    try:
        return response.json()
    except ValueError as exc:
        raise GhlError(f"GHL sent a non-JSON body on {path}", retryable=True) from exc


def _raise_for(response: requests.Response, path: str) -> None:
    """The named exception for an error answer. GHL's OAuth answers either the OAuth form
    (`{"error": "invalid_grant"}`) or its own (`{"statusCode": 400, "message": "Invalid grant:
    refresh token is invalid"}`, `"Location is not active"`: apps/v3/oauth-v3.json, POST
    /oauth/token, 400 examples)."""
    status = response.status_code
    code, message = _error_text(response)
    text = f"GHL answered {status} on {path}" + (f": {message}" if message else "")
    if message == "Location is not active":
        raise GhlLocationInactive(text, status=status)
    if status == 401 or code == "invalid_grant" or message.startswith("Invalid grant"):
        raise GhlAuthError(text, status=status)
    raise GhlError(text, status=status, retryable=status >= 500)


def _authed(
    auth: TokenSource,
    method: str,
    path: str,
    *,
    version: str = V_DEFAULT,
    params: dict | None = None,
    data: dict | None = None,
    json: dict | None = None,
) -> dict[str, Any]:
    """A call with the installation's token; a 401 refreshes the token once and retries."""
    token = auth.access_token()
    try:
        return _send(
            method,
            path,
            version=version,
            rate_key=auth.ghl_id,
            token=token,
            params=params,
            data=data,
            json=json,
        )
    except GhlAuthError:
        fresh = auth.refreshed_token(token)
    return _send(
        method,
        path,
        version=version,
        rate_key=auth.ghl_id,
        token=fresh,
        params=params,
        data=data,
        json=json,
    )


# --- OAuth ---------------------------------------------------------------------------------


def exchange_code(*, code: str, user_type: str, redirect_uri: str) -> dict[str, Any]:
    """Trade an authorization code for a token pair. `user_type` "" sends none, as GHL's own
    app template does (GoHighLevel/ghl-marketplace-app-template, src/ghl.ts).

    https://marketplace.gohighlevel.com/docs/ghl/oauth/get-access-token (apps/oauth.json,
    POST /oauth/token)
    """
    data = {
        "client_id": settings.GHL_CLIENT_ID,
        "client_secret": settings.GHL_CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    if user_type:
        data["user_type"] = user_type
    return _send("POST", "/oauth/token", version=V_DEFAULT, data=data)


def refresh(*, refresh_token: str, user_type: str) -> dict[str, Any]:
    """Rotate a token pair: the answer carries a NEW refresh token, the old one is dead.

    https://marketplace.gohighlevel.com/docs/ghl/oauth/get-access-token
    """
    return _send(
        "POST",
        "/oauth/token",
        version=V_DEFAULT,
        data={
            "client_id": settings.GHL_CLIENT_ID,
            "client_secret": settings.GHL_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "user_type": user_type,
        },
    )


def location_token(company: TokenSource, *, location_id: str) -> dict[str, Any]:
    """Mint a location token from an agency (company) token; needs scope `oauth.write`. The
    v1 answer documents no `refresh_token`: such a token is minted again when it expires.

    https://marketplace.gohighlevel.com/docs/ghl/oauth/get-location-access-token
    (apps/oauth.json, POST /oauth/locationToken)
    """
    return _authed(
        company,
        "POST",
        "/oauth/locationToken",
        data={"companyId": company.ghl_id, "locationId": location_id},
    )


PAGE_SIZE = 100
MAX_PAGES = 50  # a bound in case an endpoint ignores its offset


def _pages(fetch, items_key: str, total_key: str) -> list[dict[str, Any]]:
    """Every item of an offset-paginated list: `fetch(offset)` returns one page's body."""
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        body = fetch(len(items))
        page = body.get(items_key) or []
        items.extend(page)
        total = body.get(total_key)
        if len(page) < PAGE_SIZE or (isinstance(total, int) and len(items) >= total):
            break
    return items


def installed_locations(
    company: TokenSource, *, app_id: str, location_id: str = ""
) -> list[dict[str, Any]]:
    """The locations of an agency that have this app installed (`_id`, `name`, ...); needs
    scope `oauth.readonly`. `location_id` narrows it to one location.

    apps/oauth.json, GET /oauth/installedLocations (operationId get-installed-location)
    """
    params = {
        "companyId": company.ghl_id,
        "appId": app_id,
        "isInstalled": "true",
        "limit": str(PAGE_SIZE),
    }
    if location_id:
        params["locationId"] = location_id

    def fetch(offset):
        return _authed(
            company, "GET", "/oauth/installedLocations", params={**params, "skip": str(offset)}
        )

    return _pages(fetch, "locations", "count")


# --- Reads with a location token ------------------------------------------------------------


def get_contact(auth: TokenSource, contact_id: str) -> dict[str, Any]:
    """https://marketplace.gohighlevel.com/docs/ghl/contacts/get-contact"""
    return _authed(auth, "GET", f"/contacts/{contact_id}").get("contact", {})


def list_calendars(auth: TokenSource) -> list[dict[str, Any]]:
    """https://marketplace.gohighlevel.com/docs/ghl/calendars/get-calendars"""
    body = _authed(
        auth, "GET", "/calendars/", version=V_CALENDARS, params={"locationId": auth.ghl_id}
    )
    return body.get("calendars", [])


def list_products(auth: TokenSource, *, limit: int = 100, offset: int = 0) -> list[dict]:
    """List Products (GHL's doc slug really is list-invoices).

    https://marketplace.gohighlevel.com/docs/ghl/products/list-invoices
    """
    body = _authed(
        auth,
        "GET",
        "/products/",
        params={"locationId": auth.ghl_id, "limit": limit, "offset": offset},
    )
    return body.get("products", [])


def list_prices(auth: TokenSource, product_id: str) -> list[dict[str, Any]]:
    """https://marketplace.gohighlevel.com/docs/ghl/products/list-prices-for-product"""
    body = _authed(auth, "GET", f"/products/{product_id}/price", params={"locationId": auth.ghl_id})
    return body.get("prices", [])


def list_invoices(auth: TokenSource, *, status: str, start_at: str) -> list[dict[str, Any]]:
    """The location's invoices in `status` issued since `start_at` (YYYY-MM-DD), each with
    `invoiceItems` and `contactDetails` like the Invoice webhooks.

    apps/invoices.json, GET /invoices/ (operationId list-invoices)
    """

    def fetch(offset):
        return _authed(
            auth,
            "GET",
            "/invoices/",
            params={
                "altId": auth.ghl_id,
                "altType": "location",
                "status": status,
                "startAt": start_at,
                "limit": str(PAGE_SIZE),
                "offset": str(offset),
            },
        )

    return _pages(fetch, "invoices", "total")


def list_orders(auth: TokenSource, *, payment_status: str, start_at: str) -> list[dict[str, Any]]:
    """The location's orders with `payment_status` since `start_at` (YYYY-MM-DD). List items
    carry no `items`: read those with `get_order`.

    apps/payments.json, GET /payments/orders (operationId list-orders; it takes no altType)
    """

    def fetch(offset):
        return _authed(
            auth,
            "GET",
            "/payments/orders",
            params={
                "altId": auth.ghl_id,
                "paymentStatus": payment_status,
                "startAt": start_at,
                "limit": PAGE_SIZE,
                "offset": offset,
            },
        )

    return _pages(fetch, "data", "totalCount")


def get_order(auth: TokenSource, order_id: str) -> dict[str, Any]:
    """One order with its `items` and `contactSnapshot`, like the Order webhooks.

    apps/payments.json, GET /payments/orders/{orderId} (operationId get-order-by-id)
    """
    return _authed(auth, "GET", f"/payments/orders/{order_id}", params={"altId": auth.ghl_id})


def list_transactions(auth: TokenSource, *, start_at: str) -> list[dict[str, Any]]:
    """The location's transactions since `start_at` (YYYY-MM-DD); each names what it paid
    (`entityType` "order", `entityId`) and its cumulative `amountRefunded`.

    apps/payments.json, GET /payments/transactions (operationId list-transactions)
    """

    def fetch(offset):
        return _authed(
            auth,
            "GET",
            "/payments/transactions",
            params={
                "altId": auth.ghl_id,
                "altType": "location",
                "startAt": start_at,
                "limit": PAGE_SIZE,
                "offset": offset,
            },
        )

    return _pages(fetch, "data", "totalCount")


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
    body = _authed(
        auth, "GET", f"/locations/{auth.ghl_id}/customFields", params={"model": "contact"}
    )
    return body.get("customFields", [])


def create_custom_field(auth: TokenSource, *, name: str, data_type: str) -> dict[str, Any]:
    """A contact custom field (scope locations/customFields.write); answers `customField`.

    https://marketplace.gohighlevel.com/docs/ghl/locations/create-custom-field
    """
    body = _authed(
        auth,
        "POST",
        f"/locations/{auth.ghl_id}/customFields",
        json={"name": name, "dataType": data_type, "model": "contact"},
    )
    return body.get("customField", {})


def set_contact_field(auth: TokenSource, contact_id: str, *, field_id: str, value) -> None:
    """Set one custom field of a contact (scope contacts.write); other fields are untouched.

    https://marketplace.gohighlevel.com/docs/ghl/contacts/update-contact
    """
    _authed(
        auth,
        "PUT",
        f"/contacts/{contact_id}",
        json={"customFields": [{"id": field_id, "field_value": value}]},
    )


def add_contact_tags(auth: TokenSource, contact_id: str, tags: list[str]) -> None:
    """https://marketplace.gohighlevel.com/docs/ghl/contacts/add-tags"""
    _authed(auth, "POST", f"/contacts/{contact_id}/tags", json={"tags": tags})


def remove_contact_tags(auth: TokenSource, contact_id: str, tags: list[str]) -> None:
    """https://marketplace.gohighlevel.com/docs/ghl/contacts/remove-tags"""
    _authed(auth, "DELETE", f"/contacts/{contact_id}/tags", json={"tags": tags})
