"""Input validation (strict types, SPEC §3.1/§3.4) and output shapes for the OpenAPI schema."""

import json
import threading

from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from entitlements.models import ConfigKind, LedgerKind, LotStatus, PaymentOutcome, Source
from entitlements.outcomes import PRECEDENCE, Reason
from entitlements.purchases import PaymentProvider
from kotally.lib.timeutil import parse_aware

MAX_ID = 255
MAX_METADATA_BYTES = 16 * 1024


class StrictCharField(serializers.CharField):
    """A JSON string only (no numbers coerced to text), 1..255 chars by default."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_ID)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings, floats or booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """ISO 8601 with an explicit offset; naive or unparsable timestamps are refused."""

    default_error_messages = {
        "invalid": "Expected an ISO 8601 timestamp with a timezone offset, e.g. "
        "2026-05-01T09:00:00Z.",
        "range": "Expected a year between 1970 and 2999.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        try:
            value = parse_aware(data)
        except ValueError:
            self.fail("invalid")
        # Years near 1 or 9999 overflow when converted to UTC or when expiry days are added.
        if not 1970 <= value.year <= 2999:
            self.fail("range")
        return value

    def to_representation(self, value):
        return value


def _no_slash(value: str) -> None:
    # The key is a path segment of GET /contacts/{id}; "/" could never be read back.
    if "/" in value:
        raise serializers.ValidationError("A contact id cannot contain '/'.")


_fields = threading.local()


class Input(serializers.Serializer):
    """A request body. DRF deep-copies every declared field for each serializer, so that one
    may change its own fields; these never do, so each thread copies a class's fields once and
    hands them to every later instance (the copy was 8% of a deduct's CPU, issue 14)."""

    @cached_property
    def fields(self):
        kept = _fields.__dict__.setdefault("by_class", {})
        if (fields := kept.get(type(self))) is None:
            fields = kept[type(self)] = super().fields
        for field in fields.values():
            field.parent = self
        return fields


class ContactKeyMixin(Input):
    location_id = StrictCharField()
    external_contact_id = StrictCharField(
        required=False,
        validators=[_no_slash],
        help_text="The contact key. Send exactly one of external_contact_id / ghl_contact_id.",
    )
    ghl_contact_id = StrictCharField(
        required=False,
        validators=[_no_slash],
        help_text="Another name for the same key. Send exactly one of the two.",
    )

    def validate(self, attrs):
        given = [k for k in ("external_contact_id", "ghl_contact_id") if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {
                    "external_contact_id": [
                        "Send exactly one of external_contact_id or ghl_contact_id."
                    ]
                }
            )
        attrs["contact_key"] = attrs[given[0]]
        return attrs


class TargetMixin(ContactKeyMixin):
    product_config_id = StrictCharField(
        required=False, help_text="Send product_config_id or calendar_id, or both."
    )
    calendar_id = StrictCharField(
        required=False, help_text="With product_config_id it must be in the config's family."
    )
    amount = StrictIntegerField(required=False, default=1, min_value=1, max_value=1000)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs.get("product_config_id") and not attrs.get("calendar_id"):
            raise serializers.ValidationError(
                {"product_config_id": ["Send product_config_id or calendar_id (or both)."]}
            )
        return attrs


class CheckIn(TargetMixin):
    pass


def _not_reserved(value: str) -> None:
    # GHL bookings run through the same once-per-request-id records as `ghl:appt:<id>:...`;
    # an API client must not be able to take those ids first.
    if value.startswith("ghl:"):
        raise serializers.ValidationError("Request ids starting with 'ghl:' are reserved.")


class DeductIn(TargetMixin):
    request_id = StrictCharField(validators=[_not_reserved])
    external_ref = StrictCharField(required=False)
    appointment_time = AwareDateTimeField(required=False)


class RestoreIn(DeductIn):
    pass


# The integrations' payment namespaces (entitlements.purchases.PaymentProvider): a purchase
# GHL or Stripe reports is deduplicated on (location, provider, external payment id), so an
# API grant that took such an id first would make the real purchase a DUPLICATE_EVENT.
_RESERVED_PROVIDERS = {PaymentProvider.GHL, PaymentProvider.STRIPE}
_RESERVED_PAYMENT_PREFIXES = tuple(f"{p}:" for p in sorted(_RESERVED_PROVIDERS))


def _not_reserved_provider(value: str) -> None:
    if value.lower() in _RESERVED_PROVIDERS:
        raise serializers.ValidationError(
            f"Provider '{value}' is reserved for Kotally's own integration; "
            "name your own (e.g. 'automation' or 'shopify')."
        )


def _not_reserved_payment_id(value: str) -> None:
    if value.lower().startswith(_RESERVED_PAYMENT_PREFIXES):
        raise serializers.ValidationError(
            "Payment ids starting with 'ghl:' or 'stripe:' are reserved for Kotally's own "
            "integrations."
        )


class GrantIn(ContactKeyMixin):
    request_id = StrictCharField(validators=[_not_reserved])
    external_payment_id = StrictCharField(validators=[_not_reserved_payment_id])
    product_config_id = StrictCharField()
    provider = StrictCharField(
        required=False, default="automation", max_length=40, validators=[_not_reserved_provider]
    )
    event_type = StrictCharField(required=False, default="payment_confirmed", max_length=64)
    amount_cents = StrictIntegerField(required=False, min_value=0, max_value=10**12)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    paid_at = AwareDateTimeField(required=False)
    email = serializers.EmailField(required=False, max_length=254)
    name = StrictCharField(required=False)
    external_ref = StrictCharField(required=False)
    metadata = serializers.DictField(required=False)

    def validate_metadata(self, value):
        if len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
            raise serializers.ValidationError("metadata must be at most 16 KB of JSON.")
        return value


# --- outputs (documentation of the real response bodies; a test checks they match) ---------


class EnvelopeOut(serializers.Serializer):
    ok = serializers.BooleanField()
    reason_code = serializers.CharField()
    correlation_id = serializers.CharField()
    message = serializers.CharField(required=False, help_text="Present on refusals.")


class ErrorOut(EnvelopeOut):
    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, on VALIDATION_ERROR.",
    )


# Transport errors by HTTP status (SPEC §3.1).
TRANSPORT_CODES = {
    400: ["VALIDATION_ERROR"],
    401: ["UNAUTHENTICATED"],
    403: ["SCOPE_REQUIRED", "LOCATION_FORBIDDEN"],
    404: ["ROUTE_NOT_FOUND"],
    405: ["METHOD_NOT_ALLOWED"],
    409: ["REQUEST_IN_PROGRESS"],
    415: ["UNSUPPORTED_MEDIA_TYPE"],
    422: ["REQUEST_ID_REUSED"],
    429: ["RATE_LIMITED"],
    500: ["INTERNAL_ERROR"],
}


def error_out(status: int) -> type[serializers.Serializer]:
    return type(
        f"Error{status}Out",
        (ErrorOut,),
        {"reason_code": serializers.ChoiceField(choices=TRANSPORT_CODES[status])},
    )


def _outcome_codes(success: str, *refusals: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=[success, *refusals], help_text="The success code, or a refusal (ok false)."
    )


_ENGINE_REFUSALS = list(PRECEDENCE)


class GrantOut(EnvelopeOut):
    reason_code = _outcome_codes(
        Reason.GRANT_APPLIED,
        Reason.CONFIG_NOT_FOUND,
        Reason.BILLING_SUSPENDED,
        Reason.LOCATION_INACTIVE,
        Reason.DUPLICATE_EVENT,
    )
    location_id = serializers.CharField(allow_null=True)
    contact_id = serializers.CharField(allow_null=True)
    entitlement_id = serializers.CharField(allow_null=True)
    credits_granted = serializers.IntegerField(allow_null=True)
    balance_after = serializers.IntegerField(allow_null=True)
    expires_at = serializers.CharField(allow_null=True)


class EntitlementOutcomeOut(EnvelopeOut):
    balance_after = serializers.IntegerField(allow_null=True)
    entitlement_id = serializers.CharField(allow_null=True)
    balance = serializers.IntegerField(
        allow_null=True, help_text="Current available credits for the config/calendar."
    )


class CheckOut(EntitlementOutcomeOut):
    reason_code = _outcome_codes(Reason.ELIGIBLE, *_ENGINE_REFUSALS)


class DeductOut(EntitlementOutcomeOut):
    reason_code = _outcome_codes(Reason.DEDUCTED, *_ENGINE_REFUSALS)


class RestoreOut(EntitlementOutcomeOut):
    reason_code = _outcome_codes(
        Reason.RESTORED,
        Reason.BILLING_SUSPENDED,
        Reason.LOCATION_INACTIVE,
        Reason.CONFIG_NOT_FOUND,
        Reason.NO_ENTITLEMENT,
        Reason.SERVICE_FAMILY_MISMATCH,
        Reason.CANCELLATION_WINDOW_EXPIRED,
        Reason.NOTHING_TO_RESTORE,
        Reason.ENTITLEMENT_EXPIRED,
    )


class ContactOut(serializers.Serializer):
    id = serializers.CharField()
    external_contact_id = serializers.CharField()
    ghl_contact_id = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()


class EntitlementOut(serializers.Serializer):
    id = serializers.CharField()
    product_config_id = serializers.CharField()
    product_config_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ConfigKind.choices)
    status = serializers.ChoiceField(choices=LotStatus.choices)
    credits_granted = serializers.IntegerField()
    credits_remaining = serializers.IntegerField()
    granted_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    paused_at = serializers.CharField(allow_null=True)


class LedgerOut(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=LedgerKind.choices)
    amount = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    entitlement_id = serializers.CharField()
    product_config_id = serializers.CharField()
    source = serializers.ChoiceField(choices=Source.choices)
    request_id = serializers.CharField(allow_null=True)
    external_ref = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()


class PaymentOut(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    external_payment_id = serializers.CharField()
    event_type = serializers.CharField()
    amount_cents = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    paid_at = serializers.CharField()
    product_config_id = serializers.CharField(allow_null=True)
    outcome = serializers.ChoiceField(choices=PaymentOutcome.choices)


class AppointmentOut(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField()
    calendar_id = serializers.CharField(allow_null=True)
    start_time = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    credits_deducted = serializers.IntegerField()
    entitlement_id = serializers.CharField(allow_null=True)


class SummaryOut(serializers.Serializer):
    credits_available = serializers.IntegerField()
    last_paid_at = serializers.CharField(allow_null=True)
    lifetime_value_cents = serializers.IntegerField()
    payment_events_count = serializers.IntegerField()
    entitlements = EntitlementOut(many=True)
    recent_ledger = LedgerOut(many=True)
    recent_appointments = AppointmentOut(many=True)
    recent_payments = PaymentOut(many=True)


class CreditsRowOut(serializers.Serializer):
    product_config_id = serializers.CharField()
    name = serializers.CharField()
    credits_available = serializers.IntegerField()


def _timeline_event(name: str, kind: str, item) -> type[serializers.Serializer]:
    """A timeline event: `type` and `at` merged into the item of that kind."""
    return type(
        name,
        (item,),
        {"type": serializers.ChoiceField(choices=[kind]), "at": serializers.CharField()},
    )


_TIMELINE_EVENT = PolymorphicProxySerializer(
    component_name="TimelineEventOut",
    serializers={
        "ledger": _timeline_event("TimelineLedgerOut", "ledger", LedgerOut),
        "payment": _timeline_event("TimelinePaymentOut", "payment", PaymentOut),
        "appointment": _timeline_event("TimelineAppointmentOut", "appointment", AppointmentOut),
    },
    resource_type_field_name="type",
    many=False,
)


@extend_schema_field(_TIMELINE_EVENT)
class TimelineEventOut(serializers.DictField):
    """Documentation only: the schema is the union above."""


class NotFoundOut(EnvelopeOut):
    """A contact read for an unknown contact: HTTP 200, ok false."""

    ok = serializers.BooleanField(default=False)
    reason_code = serializers.ChoiceField(choices=["NOT_FOUND"])
    message = serializers.CharField()


def _read_out(name: str, **fields) -> type[serializers.Serializer]:
    return type(name, (EnvelopeOut,), fields)


def read_response(loaded: type[serializers.Serializer], code: str) -> PolymorphicProxySerializer:
    """A contact read's 200 body: the loaded body with its success code, or NOT_FOUND."""
    success = type(
        loaded.__name__, (loaded,), {"reason_code": serializers.ChoiceField(choices=[code])}
    )
    return PolymorphicProxySerializer(
        component_name=f"{loaded.__name__}OrNotFound",
        serializers=[success, NotFoundOut],
        resource_type_field_name=None,
        many=False,
    )


ContactLoadedOut = _read_out("ContactLoadedOut", contact=ContactOut())
SummaryLoadedOut = _read_out("SummaryLoadedOut", contact=ContactOut(), summary=SummaryOut())
CreditsLoadedOut = _read_out(
    "CreditsLoadedOut",
    credits_available=serializers.IntegerField(),
    by_product_config=CreditsRowOut(many=True),
)


def _list_out(name: str, key: str, items: serializers.Field) -> type[serializers.Serializer]:
    return _read_out(name, **{key: items, "next_cursor": serializers.CharField(allow_null=True)})


EntitlementsLoadedOut = _list_out(
    "EntitlementsLoadedOut", "entitlements", EntitlementOut(many=True)
)
AppointmentsLoadedOut = _list_out(
    "AppointmentsLoadedOut", "appointments", AppointmentOut(many=True)
)
LedgerLoadedOut = _list_out("LedgerLoadedOut", "entries", LedgerOut(many=True))
PaymentsLoadedOut = _list_out("PaymentsLoadedOut", "payments", PaymentOut(many=True))
TimelineLoadedOut = _list_out(
    "TimelineLoadedOut", "events", serializers.ListField(child=TimelineEventOut())
)
