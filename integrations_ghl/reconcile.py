"""Reconciliation (SPEC §5.3): GHL retries a webhook only after a 429, so a delivery lost any
other way is gone for good. Periodically (beat entry `reconcile-ghl`, integrations_ghl.tasks)
Kotally reads back what GHL lists and feeds it through the webhooks' own paths — the same
Purchase, the same refunds — so the payment keys make a second sighting change nothing:

- per connected location, what changed since the last run (minus a lookback, GHL filters by
  date): paid invoices (GET /invoices/) and paid orders (GET /payments/orders, then each new
  one's items from GET /payments/orders/{id}) → purchases; voided invoices and transactions
  with `amountRefunded` → refunds;
- per agency installation, the locations it installed Kotally on (GET
  /oauth/installedLocations) that are not linked yet.

The last run and what it found are kept on the Installation and shown on the Locations page.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import SUSPENDED
from entitlements.models import PaymentEvent, PaymentOutcome
from entitlements.outcomes import BillingSuspended
from entitlements.purchases import PaymentProvider, Purchase
from locations.models import Location, LocationKind, LocationStatus

from . import client, handlers, installations
from .models import Installation, UserType

logger = logging.getLogger("kotally.ghl")

# PaymentEvent.event_type of the purchases reconciliation recovered.
RECONCILED = "reconciliation"


def connected_location_pks() -> list[int]:
    """GHL locations that are active, with live tokens, in a workspace whose billing allows
    writes."""
    return list(
        Location.objects.filter(
            kind=LocationKind.GHL, status=LocationStatus.ACTIVE, installation__active=True
        )
        .exclude(workspace__billing_status__in=SUSPENDED)
        .values_list("pk", flat=True)
    )


def company_installation_pks() -> list[int]:
    return list(
        Installation.objects.filter(user_type=UserType.COMPANY, active=True).values_list(
            "pk", flat=True
        )
    )


def _known(location: Location, prefix: str) -> bool:
    """Kotally already recorded a payment of this invoice/order (granted or not)."""
    return PaymentEvent.objects.filter(
        location=location, provider=PaymentProvider.GHL, external_payment_id__startswith=prefix
    ).exists()


def _recover(purchase: Purchase, found: dict) -> None:
    handlers.purchase_settle(purchase)
    found["recovered"] += 1
    found["granted"] += PaymentEvent.objects.filter(
        location=purchase.location,
        provider=PaymentProvider.GHL,
        external_payment_id__in=[line.external_payment_id for line in purchase.lines],
        outcome=PaymentOutcome.GRANTED,
    ).count()


def _refund(
    location: Location,
    prefix: str,
    found: dict,
    *,
    reason: str,
    refunded_cents: int | None = None,
    total_cents: int | None = None,
) -> None:
    """Refund the recorded payments of one invoice/order: all of it, or the share
    refunded_cents / total_cents of each line (cumulative, so a re-run adds nothing)."""
    payments = PaymentEvent.objects.filter(
        location=location, provider=PaymentProvider.GHL, external_payment_id__startswith=prefix
    ).filter(Q(entitlement__isnull=False) | Q(outcome=PaymentOutcome.DUPLICATE))
    share = None if not total_cents or refunded_cents is None else refunded_cents / total_cents
    refunds = {
        payment_id: None if share is None or share >= 1 or not amount else int(amount * share)
        for payment_id, amount in payments.values_list("external_payment_id", "amount_cents")
    }
    outcomes = handlers.refund_lines(location, refunds, reason=reason)
    found["credits_revoked"] += sum(outcome.credits_changed or 0 for outcome in outcomes)


def _start_at(installation: Installation, now: datetime) -> str:
    since = installation.reconciled_at or now
    return (since - timedelta(days=settings.GHL_RECONCILE_LOOKBACK_DAYS)).date().isoformat()


def reconcile_location(location: Location, *, now: datetime | None = None) -> dict:
    """Recover the purchases and refunds of `location` GHL never delivered (see the module
    docstring). Returns what it found: `checked` (invoices and orders GHL listed),
    `recovered` (those Kotally had not seen), `granted` (their lines granted now),
    `credits_revoked` (by refunds). Raises client.GhlError; the failure is recorded too."""
    now = now or timezone.now()
    installation = Installation.objects.get(location=location)
    source = installations.token_source(location)
    start_at = _start_at(installation, now)
    found = {"checked": 0, "recovered": 0, "granted": 0, "credits_revoked": 0}
    try:
        for invoice in client.list_invoices(source, status="paid", start_at=start_at):
            found["checked"] += 1
            if not _known(location, f"ghl:invoice:{invoice['_id']}:"):
                _recover(handlers.invoice_purchase(location, invoice, event_type=RECONCILED), found)
        for order in client.list_orders(source, payment_status="paid", start_at=start_at):
            found["checked"] += 1
            if not _known(location, f"ghl:order:{order['_id']}:"):
                detail = client.get_order(source, str(order["_id"]))
                _recover(handlers.order_purchase(location, detail, event_type=RECONCILED), found)
        for invoice in client.list_invoices(source, status="void", start_at=start_at):
            _refund(
                location,
                f"ghl:invoice:{invoice['_id']}:",
                found,
                reason=f"GHL invoice {invoice['_id']} voided",
            )
        for txn in client.list_transactions(source, start_at=start_at):
            refunded = handlers.to_cents(txn.get("amountRefunded"))
            if txn.get("entityType") == "order" and txn.get("entityId") and refunded:
                _refund(
                    location,
                    f"ghl:order:{txn['entityId']}:",
                    found,
                    reason=f"GHL order {txn['entityId']} refunded",
                    refunded_cents=refunded,
                    total_cents=handlers.to_cents(txn.get("amount")),
                )
    except (client.GhlError, BillingSuspended) as exc:
        error = "billing suspended" if isinstance(exc, BillingSuspended) else str(exc)
        Installation.objects.filter(pk=installation.pk).update(
            reconcile_result={**installation.reconcile_result, "error": error[:300]}
        )
        raise
    Installation.objects.filter(pk=installation.pk).update(
        reconciled_at=now, reconcile_result=found
    )
    if found["recovered"] or found["credits_revoked"]:
        logger.warning("ghl reconciliation of %s found %s", location.location_id, found)
    return found


def company_sync(installation: Installation, *, now: datetime | None = None) -> dict:
    """Link the locations the agency installed Kotally on that are not linked yet."""
    linked = installations.company_locations_sync(installation)
    found = {"linked": [location.location_id for location in linked]}
    Installation.objects.filter(pk=installation.pk).update(
        reconciled_at=now or timezone.now(), reconcile_result=found
    )
    return found
