"""/api/v2 views: parse input, call one engine service, shape the outcome (SPEC §3)."""

import logging
import time

from django.db import DatabaseError, OperationalError, connection
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from entitlements import events, selectors, services
from entitlements.idempotency import InProgress, Reused, run_once
from entitlements.models import Source
from entitlements.outcomes import Outcome
from kotally.lib import epoch
from kotally.lib.envelope import json_envelope
from kotally.lib.timeutil import iso_z

from . import ratelimit
from . import serializers as s
from .errors import ApiError
from .parsers import BoundedJSONParser
from .services import api_request_record, api_request_statement, record_rate_limited

logger = logging.getLogger("kotally.api")

_ERRORS = {status: s.error_out(status) for status in s.TRANSPORT_CODES}


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """Always answer JSON, whatever the Accept header says: an API error page is never HTML
    and an odd Accept header is never a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ApiView(APIView):
    """Bearer auth (401) → scope (403) → rate limit (429) → method (405) → JSON media type
    (415), then the handler: validation (400) → location (403) → idempotency (409/422)."""

    required_scope: str = ""
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation
    metadata_class = None  # OPTIONS is not part of the API: 405 like any other wrong method

    def initialize_request(self, request, *args, **kwargs):
        self.started = time.monotonic()
        return super().initialize_request(request, *args, **kwargs)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        self.client = request.auth  # only once authenticated: the request log needs a client
        # What this process keeps under the epoch the client was checked with may be used
        # until the answer (the listening locations, entitlements/events.py).
        self.epoch_token = epoch.current.set(request.auth.epoch)

    def check_throttles(self, request):
        # Taken during authentication when the client came from this process's cache.
        decision = request.auth.rate_limit or ratelimit.take(str(request.auth.client_id))[0]
        request.rate_limit = decision
        if not decision.allowed:
            record_rate_limited(request.auth)
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"Too many requests for this API client; retry after {decision.retry_after} s.",
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Only for a method the view handles, so a wrong method is a 405, not a 415.
        if request.method == "POST" and hasattr(self, "post"):
            media = request.content_type.split(";")[0].strip().lower()
            if media != "application/json":
                raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.")

    def handle_exception(self, exc):
        if isinstance(exc, OperationalError) and not connection.is_usable():
            # The database can't be reached: the request log row can't be written either, and
            # trying would keep the answer waiting for the connection timeout a second time.
            self.logged = True
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        if (token := getattr(self, "epoch_token", None)) is not None:
            epoch.current.reset(token)
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request, "rate_limit", None)
        if decision is not None:
            response["X-RateLimit-Limit"] = str(ratelimit.settings.API_RATE_LIMIT_BURST)
            response["X-RateLimit-Remaining"] = str(decision.remaining)
            if not decision.allowed:
                response["Retry-After"] = str(decision.retry_after)
        if (client := getattr(self, "client", None)) is not None:
            self.log(request, response, client)
        return response

    def log(self, request, response, client) -> None:
        """One row of the client's request log (unless the write's own transaction stored it,
        see `once`); never fails the answer already decided."""
        if getattr(self, "logged", False):
            return
        answer = response.data if isinstance(response.data, dict) else {}
        try:
            api_request_record(**self.log_fields(request, response.status_code, answer))
        except DatabaseError:
            logger.exception("could not store the API request log row")

    def log_fields(self, request, status: int, answer: dict) -> dict:
        try:
            sent = request.data if isinstance(request.data, dict) else {}
        except APIException:  # an unreadable body (400, 415): no fields to log
            sent = {}
        contact = (
            self.kwargs.get("contact_id")
            or sent.get("external_contact_id")
            or sent.get("ghl_contact_id")
            or ""
        )
        return {
            "client": self.client,
            "method": request.method,
            "path": request.path,
            "status": status,
            "ok": bool(answer.get("ok", status < 400)),
            "reason_code": str(answer.get("reason_code") or ""),
            "request_id": str(sent.get("request_id") or ""),
            "contact_key": str(contact),
            "latency_ms": round((time.monotonic() - self.started) * 1000),
        }

    # --- helpers for handlers ---

    def validated(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def location_for(self, location_id: str):
        location = self.request.auth.location
        if location_id != location.location_id:
            raise ApiError(403, "LOCATION_FORBIDDEN", "This token belongs to another location.")
        return location

    def body(self, outcome: Outcome, **fields) -> dict:
        body = {
            "ok": outcome.ok,
            "reason_code": outcome.reason_code,
            "correlation_id": self.request.correlation_id,
            **fields,
        }
        if not outcome.ok:
            body["message"] = outcome.message
        return body

    def outcome_body(self, outcome: Outcome) -> dict:
        return self.body(
            outcome,
            balance_after=outcome.balance_after,
            entitlement_id=outcome.entitlement_id,
            balance=outcome.balance,
        )

    def actor(self, data) -> services.Actor:
        return services.Actor(
            source=Source.API,
            request_id=data["request_id"],
            correlation_id=self.request.correlation_id,
        )

    def refused(self, location, data, operation: str, outcome: Outcome) -> None:
        """Keep the refusal for the member's page (in run_once: a replay records nothing)."""
        services.refusal_record(
            location=location,
            contact_key=data["contact_key"],
            actor=services.Actor(
                source=Source.API,
                request_id=data.get("request_id", ""),
                correlation_id=self.request.correlation_id,
            ),
            operation=operation,
            reason_code=outcome.reason_code,
            external_ref=data.get("external_ref", ""),
            calendar_id=data.get("calendar_id") or "",
        )

    def once(self, location, data, operation: str, execute) -> Response:
        try:
            result = run_once(
                location=location,
                request_id=data["request_id"],
                operation=operation,
                payload=self.request.data,
                execute=lambda: (200, execute()),
                # The request log row rides with the stored response (its latency then stops
                # before the commit); a replay or a failure is logged by finalize_response.
                also=lambda status, body: api_request_statement(
                    **self.log_fields(self.request, status, body)
                ),
            )
        except InProgress:
            raise ApiError(
                409, "REQUEST_IN_PROGRESS", "This request_id is still executing; retry shortly."
            ) from None
        except Reused:
            raise ApiError(
                422,
                "REQUEST_ID_REUSED",
                "This request_id was already used for another operation or body.",
            ) from None
        self.logged = not result.replayed
        response = Response(result.body, status=result.status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
            response["X-Correlation-Id"] = result.body.get("correlation_id", "")
        return response


class GrantView(ApiView):
    required_scope = "grant"

    @extend_schema(
        operation_id="grant",
        request=s.GrantIn,
        responses={200: s.GrantOut, **_ERRORS},
        tags=["credits"],
    )
    def post(self, request):
        data = self.validated(s.GrantIn, request.data)
        location = self.location_for(data["location_id"])

        def execute():
            outcome = services.credits_grant(
                location=location,
                contact_key=data["contact_key"],
                product_config_id=data["product_config_id"],
                payment=services.Payment(
                    external_payment_id=data["external_payment_id"],
                    provider=data["provider"],
                    event_type=data["event_type"],
                    amount_cents=data.get("amount_cents"),
                    currency=data.get("currency", ""),
                    paid_at=data.get("paid_at"),
                    external_ref=data.get("external_ref", ""),
                    metadata=data.get("metadata"),
                ),
                actor=self.actor(data),
                email=data.get("email", ""),
                name=data.get("name", ""),
            )
            return self.body(
                outcome,
                location_id=location.location_id,
                contact_id=outcome.contact_id,
                entitlement_id=outcome.entitlement_id,
                credits_granted=outcome.credits_granted,
                balance_after=outcome.balance_after,
                expires_at=iso_z(outcome.expires_at),
            )

        return self.once(location, data, "grant", execute)


class CheckView(ApiView):
    required_scope = "check"

    @extend_schema(
        operation_id="check_eligibility",
        request=s.CheckIn,
        responses={200: s.CheckOut, **_ERRORS},
        tags=["credits"],
    )
    def post(self, request):
        data = self.validated(s.CheckIn, request.data)
        location = self.location_for(data["location_id"])
        outcome = services.eligibility_check(
            location=location,
            contact_key=data["contact_key"],
            product_config_id=data.get("product_config_id"),
            calendar_id=data.get("calendar_id"),
            amount=data["amount"],
        )
        if not outcome.ok:
            self.refused(location, data, "check", outcome)
        return Response(self.outcome_body(outcome))


class _MoveView(ApiView):
    """Deduct and restore share their input and output; only the service differs."""

    service = None
    operation = ""

    def post(self, request):
        data = self.validated(s.DeductIn, request.data)
        location = self.location_for(data["location_id"])

        def execute():
            outcome = type(self).service(
                location=location,
                contact_key=data["contact_key"],
                actor=self.actor(data),
                product_config_id=data.get("product_config_id"),
                calendar_id=data.get("calendar_id"),
                amount=data["amount"],
                external_ref=data.get("external_ref", ""),
                appointment_time=data.get("appointment_time"),
            )
            if not outcome.ok:
                self.refused(location, data, self.operation, outcome)
            if self.operation == "deduct" and not outcome.ok:
                events.announce_booking_refused(
                    location_pk=location.pk,
                    request_id=data["request_id"],
                    contact_key=data["contact_key"],
                    reason_code=outcome.reason_code,
                    source=Source.API,
                    calendar_id=data.get("calendar_id"),
                    product_config_id=data.get("product_config_id"),
                    external_ref=data.get("external_ref", ""),
                    appointment_time=data.get("appointment_time"),
                )
            return self.outcome_body(outcome)

        return self.once(location, data, self.operation, execute)


class DeductView(_MoveView):
    required_scope = "deduct"
    service = services.credits_deduct
    operation = "deduct"

    @extend_schema(
        operation_id="deduct",
        request=s.DeductIn,
        responses={200: s.DeductOut, **_ERRORS},
        tags=["credits"],
    )
    def post(self, request):
        return super().post(request)


class RestoreView(_MoveView):
    required_scope = "restore"
    service = services.credits_restore
    operation = "restore"

    @extend_schema(
        operation_id="restore",
        request=s.RestoreIn,
        responses={200: s.RestoreOut, **_ERRORS},
        tags=["credits"],
    )
    def post(self, request):
        return super().post(request)


# --- contact reads ----------------------------------------------------------------------------

_READ_PARAMS = [
    OpenApiParameter("location_id", str, required=True, description="The token's location."),
]
_LIST_PARAMS = _READ_PARAMS + [
    OpenApiParameter("limit", int, description="1..100 (larger values are clamped), default 20."),
    OpenApiParameter("cursor", str, description="next_cursor of the previous page."),
]


class ReadQuery(s.serializers.Serializer):
    """The query string plus the contact key from the path (as `id`)."""

    id = s.StrictCharField()
    location_id = s.StrictCharField()
    limit = s.serializers.IntegerField(required=False, default=20, min_value=1)
    cursor = s.StrictCharField(required=False, max_length=512)


class ContactReadView(ApiView):
    """Base for GET /contacts/{id}/...: resolves the contact; unknown → 200 NOT_FOUND."""

    required_scope = "summary"
    success_code = ""

    def get(self, request, contact_id: str):
        query = self.validated(ReadQuery, {**request.query_params.dict(), "id": contact_id})
        location = self.location_for(query["location_id"])
        contact = selectors.contact_find(location, query["id"])
        if contact is None:
            return Response(
                self.body(Outcome(False, "NOT_FOUND"))
                | {"message": "No contact with this id in this location."}
            )
        try:
            fields = self.read(
                contact, min(query["limit"], selectors.MAX_LIMIT), query.get("cursor")
            )
        except selectors.BadCursor as exc:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                "The request is invalid; see errors.",
                errors={"cursor": [str(exc)]},
            ) from None
        return Response(self.body(Outcome(True, self.success_code), **fields))

    def read(self, contact, limit, cursor) -> dict:
        raise NotImplementedError


def _read_view(name, code, out, read, params=_READ_PARAMS):
    """One GET view per contact read; `read(contact, limit, cursor)` returns the body fields."""

    @extend_schema(
        operation_id=name,
        parameters=params,
        responses={200: s.read_response(out, code), **_ERRORS},
        tags=["contacts"],
    )
    def get(self, request, contact_id: str):
        return ContactReadView.get(self, request, contact_id)

    return type(
        name,
        (ContactReadView,),
        {
            "success_code": code,
            "get": get,
            "read": lambda self, contact, limit, cursor: read(contact, limit, cursor),
        },
    )


def _page(key, fetch):
    def read(contact, limit, cursor):
        page = fetch(contact, limit=limit, cursor=cursor)
        return {key: page.items, "next_cursor": page.next_cursor}

    return read


def _credits(contact, limit, cursor):
    total, rows = selectors.credits_by_config(contact)
    return {"credits_available": total, "by_product_config": rows}


ContactView = _read_view(
    "contact_get",
    "contact_loaded",
    s.ContactLoadedOut,
    lambda c, limit, cursor: {"contact": selectors.contact_item(c)},
)
SummaryView = _read_view(
    "contact_summary",
    "summary_loaded",
    s.SummaryLoadedOut,
    lambda c, limit, cursor: {
        "contact": selectors.contact_item(c),
        "summary": selectors.contact_summary(c),
    },
)
CreditsView = _read_view("contact_credits", "credits_loaded", s.CreditsLoadedOut, _credits)
EntitlementsView = _read_view(
    "contact_entitlements",
    "entitlements_loaded",
    s.EntitlementsLoadedOut,
    _page("entitlements", selectors.entitlements_page),
    _LIST_PARAMS,
)
UpcomingView = _read_view(
    "contact_appointments_upcoming",
    "appointments_loaded",
    s.AppointmentsLoadedOut,
    _page("appointments", lambda c, **kw: selectors.appointments_page(c, upcoming=True, **kw)),
    _LIST_PARAMS,
)
PastView = _read_view(
    "contact_appointments_past",
    "appointments_loaded",
    s.AppointmentsLoadedOut,
    _page("appointments", lambda c, **kw: selectors.appointments_page(c, upcoming=False, **kw)),
    _LIST_PARAMS,
)
LedgerView = _read_view(
    "contact_ledger",
    "ledger_loaded",
    s.LedgerLoadedOut,
    _page("entries", selectors.ledger_page),
    _LIST_PARAMS,
)
PaymentsView = _read_view(
    "contact_payments",
    "payments_loaded",
    s.PaymentsLoadedOut,
    _page("payments", selectors.payments_page),
    _LIST_PARAMS,
)
TimelineView = _read_view(
    "contact_timeline",
    "timeline_loaded",
    s.TimelineLoadedOut,
    _page("events", selectors.timeline_page),
    _LIST_PARAMS,
)


@csrf_exempt  # a POST to a wrong path must get the JSON 404, not Django's HTML CSRF page
def route_not_found(request, *args, **kwargs):
    """Any unknown path under /api/: the JSON envelope, never an HTML page."""
    return json_envelope(404, "ROUTE_NOT_FOUND", f"No API route at {request.path}.")
