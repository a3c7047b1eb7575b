"""Kotally's billing webhooks → the workspace's billing status (SPEC §6.1). Registered with the
inbox in BillingConfig.ready: never held (billing is what lifts a hold), no location needed,
and not atomic, because each handler reads the subscription from Stripe.

Whatever the event says, the handler only finds the subscription it is about and applies the
subscription as Stripe has it now (billing.services.billing_subscription_sync): events that
arrive late, twice or out of order change nothing that a newer state already set."""

from inbox.models import EventReason, EventStatus, InboundEvent
from inbox.processing import InvalidPayload, Result

from .services import Applied, billing_subscription_sync

CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
INVOICE_EVENTS = ("invoice.paid", "invoice.payment_failed")
EVENT_TYPES = (CHECKOUT_COMPLETED, *SUBSCRIPTION_EVENTS, *INVOICE_EVENTS)

_IGNORED = {
    Applied.UNKNOWN_WORKSPACE: EventReason.UNKNOWN_WORKSPACE,
    Applied.OTHER_SUBSCRIPTION: EventReason.OTHER_SUBSCRIPTION,
    Applied.INCOMPLETE: EventReason.SUBSCRIPTION_INCOMPLETE,
}


def _subscription_of(event: InboundEvent, obj: dict) -> tuple[str, str]:
    """(subscription id, workspace reference) the event is about."""
    if event.event_type in SUBSCRIPTION_EVENTS:
        return str(obj["id"]), ""
    if event.event_type == CHECKOUT_COMPLETED:
        return str(obj.get("subscription") or ""), str(obj.get("client_reference_id") or "")
    parent = (obj.get("parent") or {}).get("subscription_details") or {}
    return str(parent.get("subscription") or ""), ""


def subscription_changed(event: InboundEvent) -> Result:
    obj = (event.payload.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not obj.get("id"):
        raise InvalidPayload("no data.object with an id")
    subscription_id, workspace_ref = _subscription_of(event, obj)
    if not subscription_id:
        return Result(EventStatus.IGNORED, EventReason.NO_SUBSCRIPTION)
    applied = billing_subscription_sync(
        subscription_id=subscription_id, workspace_ref=workspace_ref
    )
    if applied in _IGNORED:
        return Result(EventStatus.IGNORED, _IGNORED[applied])
    return Result(EventStatus.PROCESSED, EventReason.BILLING_UPDATED)
