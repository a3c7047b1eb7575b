"""Events page (SPEC §4): inbound webhooks of the signed-in user's workspace, newest first,
with filters, search by contact / event id / reason, the member each is about, the reason in
words and what to fix, the raw payload and error, *Retry* for failed ones, *Reprocess* for
finished ones, and the payments that granted nothing with what to fix."""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import member_view
from entitlements import selectors
from entitlements.models import PaymentEvent, PaymentOutcome
from entitlements.outcomes import Reason
from kotally.lib.csvstream import csv_download
from kotally.lib.keyset import BadCursor, window
from kotally.lib.text import query_text

from .models import FINAL, REFUSED, REFUSED_Q, EventReason, EventStatus, InboundEvent, Provider
from .processing import event_types, reprocess, retry_failed

FILTERS = {"provider": "provider", "type": "event_type", "reason": "reason_code"}
PAGE_SIZE = 50
REASONS = sorted({*EventReason.values, *Reason.values})
# The status filter: `refused` and `processed` split the processed events (InboundEvent.outcome).
STATUSES = [
    (EventStatus.PROCESSED.value, "Processed"),
    (REFUSED, "Refused"),
    *[(value, label) for value, label in EventStatus.choices if value != EventStatus.PROCESSED],
]


def _events(request):
    return InboundEvent.objects.filter(location__workspace=request.workspace).select_related(
        "location"
    )


def _fix_hint(payment: PaymentEvent) -> str:
    if payment.outcome == PaymentOutcome.AMBIGUOUS:
        return "Deactivate all but one of the matching product configs, then replay the payment."
    if payment.contact_id is None:
        return (
            "Make sure the buyer exists as a contact with this email, or send "
            "metadata.ghl_contact_id with the Stripe checkout."
        )
    return f"Create a product config mapped to {payment.external_product_ref or 'this product'}."


def _filtered(request):
    """The workspace's events with the page's filters and search; (events, chosen). An
    unknown value matches nothing; one with NUL is 400 (BadRequest)."""
    events = _events(request)
    chosen = {}
    for param, field in FILTERS.items():
        if value := query_text(request, param):
            chosen[param] = value
            events = events.filter(**{field: value})
    if status := query_text(request, "status"):
        chosen["status"] = status
        events = _with_status(events, status)
    if query := query_text(request, "q"):
        chosen["q"] = query
        events = _search(request, events, query)
    return events, chosen


EXPORT_COLUMNS = {
    "received_at": "received_at",
    "provider": "provider",
    "event_id": "event_id",
    "type": "event_type",
    "location_id": "location__location_id",
    "contact_id": "contact_ref",
    "status": "status",
    "reason_code": "reason_code",
    "error": "last_error",
    "attempts": "attempts",
    "processed_at": "processed_at",
}


@member_view
def event_export(request):
    """The Events list with its filters and search as CSV, newest first, streamed in chunks
    (no payloads: they stay on each event's page)."""
    events, _ = _filtered(request)
    rows = (
        events.order_by("-received_at", "-id")
        .values_list(*EXPORT_COLUMNS.values())
        .iterator(chunk_size=2000)
    )
    return csv_download("events.csv", EXPORT_COLUMNS, rows)


@member_view
def event_list(request):
    events, chosen = _filtered(request)
    locations = request.workspace.locations.values_list("pk", flat=True)
    try:
        page = window(
            events,
            ("-received_at", "-id"),
            limit=PAGE_SIZE,
            after=request.GET.get("after"),
            before=request.GET.get("before"),
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
    members = selectors.contacts_by_ref(
        {(e.location_id, e.contact_ref) for e in page.object_list if e.contact_ref}
    )
    return render(
        request,
        "inbox/events.html",
        {
            "page": page,
            "rows": [(e, members.get((e.location_id, e.contact_ref))) for e in page.object_list],
            "chosen": chosen,
            "query": urlencode(chosen),
            "providers": Provider.choices,
            "statuses": STATUSES,
            # From the code, not a DISTINCT over every stored event.
            "types": event_types(),
            "reasons": REASONS,
            "payments": [(payment, _fix_hint(payment)) for payment in payments],
            "can_change": request.membership.can_change,
        },
    )


def _with_status(events, status: str):
    if status == REFUSED:
        return events.filter(REFUSED_Q)
    if status == EventStatus.PROCESSED:
        return events.filter(status=status).exclude(REFUSED_Q)
    return events.filter(status=status)


def _search(request, events, query: str):
    """One box: an event id, a reason code, or a member (GHL contact id, name or email)."""
    refs = [query, *selectors.contact_refs_matching(request.workspace, query)]
    match = Q(provider__in=Provider.values, event_id=query) | Q(contact_ref__in=refs)
    if query.upper() in REASONS or query in REASONS:
        match |= Q(reason_code__in=(query, query.upper()))
    return events.filter(match)


@member_view
def event_detail(request, pk: int):
    event = get_object_or_404(_events(request), pk=pk)
    member = (
        selectors.contacts_by_ref({(event.location_id, event.contact_ref)}).get(
            (event.location_id, event.contact_ref)
        )
        if event.contact_ref
        else None
    )
    return render(
        request,
        "inbox/event_detail.html",
        {
            "event": event,
            "member": member,
            "can_reprocess": event.status in FINAL and event.status != EventStatus.FAILED,
            "payload": json.dumps(event.payload, indent=2, sort_keys=True),
            "can_change": request.membership.can_change,
        },
    )


@require_POST
@member_view(change=Role.ADMIN)
def event_retry(request, pk: int):
    event = get_object_or_404(_events(request), pk=pk)
    if retry_failed(event):
        messages.success(request, f"Event {event.pk} queued for another attempt.")
    else:
        messages.error(request, "Only failed events can be retried.")
    return redirect("events")


@require_POST
@member_view(change=Role.ADMIN)
def event_reprocess(request, pk: int):
    event = get_object_or_404(_events(request), pk=pk)
    if reprocess(event):
        messages.success(request, f"Event {event.pk} queued to be processed again.")
    else:
        messages.error(request, "This event is not finished yet: it is queued or held.")
    return redirect("event", pk=event.pk)
