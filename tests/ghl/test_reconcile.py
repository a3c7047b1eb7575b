"""Reconciliation (integrations_ghl.reconcile): purchases and refunds GHL never delivered are
read back through GHL's list endpoints and go through the webhooks' own paths, so each grants
once whichever way — webhook or reconciliation — comes first.

GHL's API is mocked with `responses`. List items: GET /invoices/ answers
ListInvoicesResponseDto `{invoices: [GetInvoiceResponseDto], total}` (apps/invoices.json); the
InvoicePaid webhook example carries the GetInvoiceResponseDto fields Kotally reads, so the
fixture stands in for an item. GET /payments/orders/{id} answers GetOrderResponseSchema, whose
fields Kotally reads are those of the OrderStatusUpdate example (apps/payments.json). A
transaction is TxnResponseSchema with its documented example values (ids changed).
"""

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from entitlements.models import LedgerKind, PaymentEvent, PaymentOutcome
from inbox.models import InboundEvent
from integrations_ghl import reconcile, tasks
from integrations_ghl.client import GhlError
from integrations_ghl.models import Installation, UserType
from kotally.lib.crypto import encrypt
from kotally.settings import CELERY_BEAT_SCHEDULE
from locations.models import Location, LocationKind, LocationStatus
from tests.ghl.signing import balance, entries, fixture, ghl_event

pytestmark = pytest.mark.django_db

API = "https://services.leadconnectorhq.com"
AVA = "ghl_contact_ava"
ORDER = "660ed43bfdf9fc05a0de7a40"


@pytest.fixture
def connected(location, pack, settings):
    """loc_main as a connected GHL location with live tokens, its pack mapped."""
    settings.GHL_API_BASE = API
    Location.objects.filter(pk=location.pk).update(kind=LocationKind.GHL)
    location.kind = LocationKind.GHL
    Installation.objects.create(
        workspace=location.workspace,
        user_type=UserType.LOCATION,
        location=location,
        company_id="comp_1",
        access_token_enc=encrypt("acc"),
        refresh_token_enc=encrypt("ref"),
        expires_at=timezone.now() + timedelta(hours=20),
    )
    return location


def transaction_refunding(amount_refunded: float) -> dict:
    """TxnResponseSchema's example values (apps/payments.json), ids changed."""
    return {
        "_id": "txn_61dd0feac077f72010f78804",
        "altId": "loc_main",
        "altType": "location",
        "contactId": AVA,
        "currency": "USD",
        "amount": 17,
        "status": "succeeded",
        "liveMode": False,
        "entityType": "order",
        "entityId": ORDER,
        "amountRefunded": amount_refunded,
        "createdAt": "2024-04-04T16:24:31.297Z",
    }


@pytest.fixture
def ghl_lists():
    """ghl_lists(paid=[...], void=[...], orders=[...], transactions=[...]): GHL's list answers
    (and the orders' details) for one reconciliation run."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:

        def answer(*, paid=(), void=(), orders=(), transactions=()):
            invoices = {"paid": list(paid), "void": list(void)}

            def list_invoices(request):
                status = parse_qs(urlparse(request.url).query)["status"][0]
                found = invoices[status]
                return 200, {}, json.dumps({"invoices": found, "total": len(found)})

            mock.add_callback(responses.GET, f"{API}/invoices/", callback=list_invoices)
            mock.add(
                responses.GET,
                f"{API}/payments/orders",
                json={
                    "data": [{"_id": o["_id"], "status": o["status"]} for o in orders],
                    "totalCount": len(orders),
                },
            )
            for order in orders:
                mock.add(responses.GET, f"{API}/payments/orders/{order['_id']}", json=order)
            mock.add(
                responses.GET,
                f"{API}/payments/transactions",
                json={"data": list(transactions), "totalCount": len(transactions)},
            )
            return mock

        yield answer


def test_reconciliation_grants_a_paid_invoice_whose_webhook_never_came(connected, ghl_lists):
    ghl_lists(paid=[fixture("ghl", "InvoicePaid")])
    found = reconcile.reconcile_location(connected)
    assert balance(connected, AVA) == 10
    assert found == {"checked": 1, "recovered": 1, "granted": 1, "credits_revoked": 0}
    assert PaymentEvent.objects.get().event_type == "reconciliation"


def test_webhook_arriving_after_reconciliation_grants_nothing_twice(connected, ghl_lists, post_ghl):
    ghl_lists(paid=[fixture("ghl", "InvoicePaid")])
    reconcile.reconcile_location(connected)
    post_ghl(ghl_event("InvoicePaid"))
    assert balance(connected, AVA) == 10 and entries(connected, LedgerKind.GRANT) == 1
    assert InboundEvent.objects.get().reason_code == "DUPLICATE_EVENT"


def test_reconciliation_after_the_webhook_grants_nothing_twice(connected, ghl_lists, post_ghl):
    post_ghl(ghl_event("InvoicePaid"))
    ghl_lists(paid=[fixture("ghl", "InvoicePaid")])
    found = reconcile.reconcile_location(connected)
    assert (found["checked"], found["recovered"]) == (1, 0)
    assert entries(connected, LedgerKind.GRANT) == 1


def test_second_run_finds_nothing_new(connected, ghl_lists):
    ghl_lists(paid=[fixture("ghl", "InvoicePaid")])
    reconcile.reconcile_location(connected)
    assert reconcile.reconcile_location(connected)["recovered"] == 0
    assert entries(connected, LedgerKind.GRANT) == 1


def test_reconciliation_recovers_a_paid_order_from_its_details(connected, ghl_lists, post_ghl):
    mock = ghl_lists(orders=[fixture("ghl", "OrderStatusUpdate")])
    reconcile.reconcile_location(connected)
    post_ghl(ghl_event("OrderStatusUpdate"))  # the webhook, late
    assert balance(connected, AVA) == 10 and entries(connected, LedgerKind.GRANT) == 1
    assert any(call.request.url.startswith(f"{API}/payments/orders/{ORDER}") for call in mock.calls)


def test_reconciliation_asks_for_what_changed_since_the_last_run(connected, ghl_lists, settings):
    settings.GHL_RECONCILE_LOOKBACK_DAYS = 3
    last_run = timezone.now() - timedelta(hours=1)
    Installation.objects.filter(location=connected).update(reconciled_at=last_run)
    mock = ghl_lists()
    reconcile.reconcile_location(connected)
    invoices = parse_qs(urlparse(mock.calls[0].request.url).query)
    orders = parse_qs(urlparse(mock.calls[1].request.url).query)
    since = (last_run - timedelta(days=3)).date().isoformat()
    assert invoices == {
        "altId": ["loc_main"],
        "altType": ["location"],
        "status": ["paid"],
        "startAt": [since],
        "limit": ["100"],
        "offset": ["0"],
    }
    assert orders == {
        "altId": ["loc_main"],
        "paymentStatus": ["paid"],
        "startAt": [since],
        "limit": ["100"],
        "offset": ["0"],
    }


def test_refunded_order_transaction_takes_back_the_unused_credits(connected, ghl_lists, post_ghl):
    post_ghl(ghl_event("OrderStatusUpdate"))
    ghl_lists(transactions=[transaction_refunding(17)])
    found = reconcile.reconcile_location(connected)
    order = PaymentEvent.objects.get(external_payment_id=f"ghl:order:{ORDER}:0")
    assert balance(connected, AVA) == 0 and found["credits_revoked"] == 10
    assert order.outcome == PaymentOutcome.REFUNDED


def test_partial_refund_takes_back_its_share_once(connected, ghl_lists, post_ghl):
    post_ghl(ghl_event("OrderStatusUpdate"))
    ghl_lists(transactions=[transaction_refunding(8.5)])
    reconcile.reconcile_location(connected)
    reconcile.reconcile_location(connected)
    assert balance(connected, AVA) == 5


def test_voided_invoice_listed_by_ghl_takes_back_its_credits(connected, ghl_lists, post_ghl):
    post_ghl(ghl_event("InvoicePaid"))
    ghl_lists(void=[fixture("ghl", "InvoiceVoid")])
    assert reconcile.reconcile_location(connected)["credits_revoked"] == 10
    assert balance(connected, AVA) == 0


def test_failed_run_is_recorded_and_keeps_the_last_good_one(connected, ghl_lists):
    mock = ghl_lists()
    reconcile.reconcile_location(connected)
    mock.replace(responses.GET, f"{API}/payments/orders", status=503)
    with pytest.raises(GhlError):
        reconcile.reconcile_location(connected)
    installation = Installation.objects.get(location=connected)
    assert installation.reconciled_at is not None
    assert installation.reconcile_result["error"] == "GHL answered 503 on /payments/orders"


def test_locations_page_shows_when_it_reconciled_and_what_it_found(
    connected, ghl_lists, client, owner
):
    ghl_lists(paid=[fixture("ghl", "InvoicePaid")])
    reconcile.reconcile_location(connected)
    client.force_login(owner)
    html = client.get(reverse("locations")).content.decode()
    assert "Reconciled 0" in html
    assert "recovered 1 missed (1 lines granted)" in html


def test_reconciliation_runs_periodically_for_each_connected_location(
    connected, workspace, monkeypatch
):
    Location.objects.create(
        workspace=workspace,
        location_id="ghl_gone",
        kind=LocationKind.GHL,
        status=LocationStatus.DISCONNECTED,
    )
    sent = []
    monkeypatch.setattr(tasks.reconcile_location, "delay", sent.append)
    tasks.reconcile_all()
    assert CELERY_BEAT_SCHEDULE["reconcile-ghl"]["task"] == "integrations_ghl.reconcile_all"
    assert sent == [connected.pk]


def test_agency_sync_links_locations_installed_since(connected, workspace, settings):
    Installation.objects.create(
        workspace=workspace,
        user_type=UserType.COMPANY,
        company_id="comp_1",
        access_token_enc=encrypt("company-acc"),
        refresh_token_enc=encrypt("company-ref"),
        expires_at=timezone.now() + timedelta(hours=20),
    )
    settings.GHL_CLIENT_ID = "0123456789abcdef01234567-kotally"
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            re.compile(f"{API}/oauth/installedLocations.*"),
            json={
                "locations": [
                    {"_id": "loc_main", "name": "Main", "address": ""},
                    {"_id": "ghl_new", "name": "New", "address": ""},
                ],
                "count": 2,
            },
        )
        mock.add(
            responses.POST,
            f"{API}/oauth/locationToken",
            json={"access_token": "acc-new", "expires_in": 86399, "userId": "u"},
        )
        mock.add(responses.GET, f"{API}/locations/ghl_new", json={"location": {"name": "New"}})
        tasks.sync_company_locations(Installation.objects.get(user_type=UserType.COMPANY).pk)
    assert Location.objects.get(location_id="ghl_new").status == LocationStatus.ACTIVE
