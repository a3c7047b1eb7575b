"""Events page (SPEC §4): inbound webhooks of the signed-in user's workspace, newest first,
with filters, the raw payload and error, *Retry* for failed ones, and the payments that
granted nothing with what to fix."""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import member_view
from entitlements.models import PaymentEvent, PaymentOutcome
from entitlements.outcomes import Reason
from kotally.lib.keyset import BadCursor, window

from .models import EventReason, EventStatus, InboundEvent, Provider
from .processing import event_types, retry_failed

FILTERS = {"provider": "provider", "type": "event_type", "status": "status",
           "reason": "reason_code"}
PAGE_SIZE = 50


def _events(request):
    return InboundEvent.objects.filter(location__workspace=request.workspace).select_related(
        "location"
    )


def _fix_hint(payment: PaymentEvent) -> str:
    if payment.outcome == PaymentOutcome.AMBIGUOUS:
        return "Deactivate all but one of the matching product configs, then replay the payment."
    if payment.contact_id is None:
        return ("Make sure the buyer exists as a contact with this email, or send "
                "metadata.ghl_contact_id with the Stripe checkout.")
    return f"Create a product config mapped to {payment.external_product_ref or 'this product'}."


@member_view
def event_list(request):
    events = _events(request)
    chosen = {}
    for param, field in FILTERS.items():
        if value := request.GET.get(param, "").strip():
            chosen[param] = value
            events = events.filter(**{field: value})
    locations = request.workspace.locations.values_list("pk", flat=True)
    try:
        page = window(
            events, ("-received_at", "-id"), limit=PAGE_SIZE,
            after=request.GET.get("after"), before=request.GET.get("before"),
            partition=("location_id", locations),
        )
    except BadCursor as exc:
        raise BadRequest(str(exc)) from exc
    payments = list(
        PaymentEvent.objects.filter(
            location__workspace=request.workspace,
            outcome__in=(PaymentOutcome.UNMATCHED, PaymentOutcome.AMBIGUOUS),
        )
        .select_related("location", "contact")
        .order_by("-created_at", "-pk")[:50]
    )
    return render(request, "inbox/events.html", {
        "page": page,
        "chosen": chosen,
        "query": urlencode(chosen),
        "providers": Provider.choices,
        "statuses": EventStatus.choices,
        # From the code, not a DISTINCT over every stored event.
        "types": event_types(),
        "reasons": sorted({*EventReason.values, *Reason.values}),
        "payments": [(payment, _fix_hint(payment)) for payment in payments],
        "can_change": request.membership.can_change,
    })


@member_view
def event_detail(request, pk: int):
    event = get_object_or_404(_events(request), pk=pk)
    return render(request, "inbox/event_detail.html", {
        "event": event,
        "payload": json.dumps(event.payload, indent=2, sort_keys=True),
        "can_change": request.membership.can_change,
    })


@require_POST
@member_view(change=Role.ADMIN)
def event_retry(request, pk: int):
    event = get_object_or_404(_events(request), pk=pk)
    if retry_failed(event):
        messages.success(request, f"Event {event.pk} queued for another attempt.")
    else:
        messages.error(request, "Only failed events can be retried.")
    return redirect("events")
