"""Post realistic, signed GHL webhooks to a running Kotally (local development only).

    python manage.py ghl_simulate purchase --location-id loc_abc --product-id prod_1
    python manage.py ghl_simulate booking --location-id loc_abc --calendar-id cal_1

The server accepts the signature only when it runs with DJANGO_DEBUG=True (see
integrations_ghl.signatures.DEV_ED25519_PUBLIC_KEY). See docs/ghl-simulator.md.
"""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import requests
from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError

from integrations_ghl.installations import app_id

# DEVELOPMENT ONLY — NOT A SECRET. This private key is committed on purpose so anyone can
# simulate GHL locally; its public half is trusted only when DJANGO_DEBUG=True.
DEV_ONLY_PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIEosRaVUcgDol8gMz27P+nWaxQBPOLg4BLWKIoOIgKgq\n"
    "-----END PRIVATE KEY-----\n"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _envelope(kind: str, location_id: str) -> dict:
    """`type` and `locationId`, plus the delivery fields docs/oauth/WebhookAuthentication.md
    (GHL's docs) puts in every payload."""
    return {
        "type": kind,
        "locationId": location_id,
        "webhookId": f"wh_sim_{uuid.uuid4().hex}",
        "timestamp": _iso(_now()),
    }


def install(o) -> dict:
    """docs/webhook events/AppInstall.md (location level, not white-labelled)."""
    return {
        **_envelope("INSTALL", o["location_id"]),
        "appId": app_id() or "sim_app",
        "companyId": o["company_id"],
        "userId": "sim_user",
        "planId": "sim_plan",
        "companyName": "Simulated Agency",
        "isWhitelabelCompany": False,
        "whitelabelDetails": {},
    }


def purchase(o) -> dict:
    """An InvoicePaid payload: no `type`, location in altId (as GHL sends invoices)."""
    if not o["product_id"]:
        raise CommandError("purchase needs --product-id (the GHL product of a product config)")
    now = _iso(_now())
    return {
        "_id": f"inv_sim_{uuid.uuid4().hex[:12]}",
        "status": "paid",
        "liveMode": False,
        "altId": o["location_id"],
        "altType": "location",
        "invoiceNumber": "SIM-1",
        "currency": "USD",
        "amountPaid": o["amount"],
        "total": o["amount"],
        "amountDue": 0,
        "contactDetails": {"id": o["contact_id"], "email": o["email"], "name": "Sim Member"},
        "invoiceItems": [
            {
                "_id": f"item_{uuid.uuid4().hex[:8]}",
                "productId": o["product_id"],
                "priceId": o["price_id"],
                "name": "Simulated product",
                "qty": 1,
                "amount": o["amount"],
                "currency": "USD",
                "taxes": [],
            }
        ],
        "createdAt": now,
        "updatedAt": now,
    }


def _appointment(o, kind: str, status: str) -> dict:
    start = _now() + timedelta(hours=o["hours_ahead"])
    return {
        **_envelope(kind, o["location_id"]),
        "appointment": {
            "id": o["appointment_id"],
            "calendarId": o["calendar_id"],
            "contactId": o["contact_id"],
            "appointmentStatus": status,
            "title": "Simulated class",
            "source": "ghl_simulate",
            "startTime": start.isoformat(),
            "endTime": (start + timedelta(hours=1)).isoformat(),
            "dateAdded": _iso(_now()),
            "dateUpdated": _iso(_now()),
        },
    }


def booking(o) -> dict:
    return _appointment(o, "AppointmentCreate", "confirmed")


def cancel(o) -> dict:
    return _appointment(o, "AppointmentUpdate", "cancelled")


BUILDERS = {"install": install, "purchase": purchase, "booking": booking, "cancel": cancel}


def sign(body: bytes) -> str:
    key = serialization.load_pem_private_key(DEV_ONLY_PRIVATE_KEY.encode(), password=None)
    return base64.b64encode(key.sign(body)).decode()


class Command(BaseCommand):
    help = "Post a signed, simulated GHL webhook (install, purchase, booking, cancel)."

    def add_arguments(self, parser):
        parser.add_argument("event", choices=sorted(BUILDERS))
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--location-id", required=True)
        parser.add_argument("--contact-id", default="sim_contact_1")
        parser.add_argument("--email", default="sim.member@example.com")
        parser.add_argument("--product-id", default="")
        parser.add_argument("--price-id", default="")
        parser.add_argument("--amount", type=float, default=150.0, help="major units")
        parser.add_argument("--calendar-id", default="cal_1")
        parser.add_argument("--appointment-id", default="")
        parser.add_argument(
            "--hours-ahead",
            type=float,
            default=48.0,
            help="appointment start, hours from now (cancel inside 24h → "
            "CANCELLATION_WINDOW_EXPIRED)",
        )
        parser.add_argument("--company-id", default="sim_company")

    def handle(self, *args, **options):
        if options["event"] in ("booking", "cancel") and not options["appointment_id"]:
            if options["event"] == "cancel":
                raise CommandError("cancel needs --appointment-id (the booking's id)")
            options["appointment_id"] = f"appt_sim_{uuid.uuid4().hex[:12]}"
        payload = BUILDERS[options["event"]](options)
        body = json.dumps(payload).encode()
        url = options["url"].rstrip("/") + "/webhooks/ghl"
        try:
            response = requests.post(
                url,
                data=body,
                timeout=10,
                headers={"Content-Type": "application/json", "X-GHL-Signature": sign(body)},
            )
        except requests.RequestException as exc:
            raise CommandError(f"could not reach {url}: {exc}") from exc
        self.stdout.write(json.dumps(payload, indent=2))
        self.stdout.write(f"→ HTTP {response.status_code} {response.text}")
        if options["event"] == "booking":
            self.stdout.write(f"appointment id: {options['appointment_id']} (use it to cancel)")
        if response.status_code != 200:
            raise CommandError(f"Kotally answered {response.status_code}")
