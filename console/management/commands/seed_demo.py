"""Demo data: a workspace with an owner, an API location, two product configs and a NEW API
client on every run. `--json` prints one JSON object on stdout and nothing else."""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import BillingStatus
from accounts.services import workspace_owner_ensure, workspace_settings_update
from api.models import Scope
from api.services import api_client_create
from billing.services import billing_set_status
from entitlements.models import ConfigKind, ProductConfig
from entitlements.product_configs import product_config_create
from locations.models import Location
from locations.services import api_location_create

DEMO_PASSWORD = "kotally-demo-password"
CONFIGS = {
    "package": {
        "name": "10-Class Pack",
        "kind": ConfigKind.PACKAGE,
        "credits_total": 10,
        "calendar": "cal_group_classes",
        "expiry_days": None,
        "ghl_product_id": "prod_demo_class_pack",
    },
    "membership": {
        "name": "Monthly Membership",
        "kind": ConfigKind.MEMBERSHIP,
        "monthly_credits": 4,
        "calendar": "cal_private_sessions",
        "expiry_days": 31,
        "ghl_product_id": "prod_demo_membership",
    },
}


class Command(BaseCommand):
    help = "Create or reuse a demo workspace, API location and product configs; mint a token."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object only")
        parser.add_argument("--workspace", default="Demo Studio")
        parser.add_argument("--location-id", default="loc_demo")
        parser.add_argument(
            "--billing-status",
            default=BillingStatus.TRIALING,
            choices=[BillingStatus.TRIALING, BillingStatus.ACTIVE, BillingStatus.SUSPENDED],
        )
        parser.add_argument("--cancellation-window-hours", type=int, default=None)
        parser.add_argument(
            "--scopes",
            default=",".join(Scope.values),
            help="comma list of grant,check,deduct,restore,summary",
        )

    def handle(self, *args, **opts):
        scopes = [x.strip() for x in opts["scopes"].split(",") if x.strip()]
        unknown = sorted(set(scopes) - set(Scope.values))
        if unknown or not scopes:
            raise CommandError(f"unknown scopes: {', '.join(unknown) or '(none given)'}")
        window = opts["cancellation_window_hours"]
        if window is not None and window < 0:
            raise CommandError("--cancellation-window-hours must be 0 or more")
        with transaction.atomic():
            result = self._seed(
                opts["workspace"], opts["location_id"], opts["billing_status"], window, scopes
            )
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._explain(result)

    def _seed(self, name, location_id, billing_status, window, scopes):
        email = f"owner+{slugify(name) or 'demo'}@demo.kotally.local"
        workspace, owner = workspace_owner_ensure(
            workspace_name=name, email=email, password=DEMO_PASSWORD
        )
        if window is not None:
            workspace_settings_update(
                workspace=workspace,
                cancellation_window_hours=window,
                restore_on_cancel=workspace.restore_on_cancel,
            )

        location = Location.objects.filter(location_id=location_id).first()
        if location is not None and location.workspace_id != workspace.pk:
            raise CommandError(f"location {location_id} belongs to another workspace")
        # Billing first: a new location then starts active, or pending while suspended.
        billing_set_status(workspace=workspace, status=billing_status)
        if location is None:
            location = api_location_create(
                workspace=workspace,
                location_id=location_id,
                name=f"{name} (API)",
                pending_without_billing=True,
            )

        configs = {}
        for key, spec in CONFIGS.items():
            config = ProductConfig.objects.filter(
                location=location, name=spec["name"], active=True
            ).first()
            if config is None:
                config = product_config_create(
                    location=location,
                    name=spec["name"],
                    kind=spec["kind"],
                    credits_total=spec.get("credits_total"),
                    monthly_credits=spec.get("monthly_credits"),
                    expiry_days=spec["expiry_days"],
                    calendar_ids=[spec["calendar"]],
                    ghl_product_id=spec["ghl_product_id"],
                )
            configs[key] = {"id": config.public_id, "calendar_id": config.calendar_ids[0]}

        _, token = api_client_create(
            location=location, name="Demo client", scopes=scopes, created_by=owner
        )
        return {
            "workspace": workspace.name,
            "location_id": location.location_id,
            "token": token,
            "product_configs": configs,
            "owner": {"email": owner.email, "password": DEMO_PASSWORD},
        }

    def _explain(self, r):
        base = settings.KOTALLY_BASE_URL.rstrip("/")
        pkg = r["product_configs"]["package"]
        auth = f'-H "Authorization: Bearer {r["token"]}" -H "Content-Type: application/json"'
        grant = json.dumps(
            {
                "location_id": r["location_id"],
                "external_contact_id": "member-1",
                "product_config_id": pkg["id"],
                "request_id": "demo-grant-1",
                "external_payment_id": "demo-payment-1",
            }
        )
        deduct = json.dumps(
            {
                "location_id": r["location_id"],
                "external_contact_id": "member-1",
                "calendar_id": pkg["calendar_id"],
                "request_id": "demo-deduct-1",
            }
        )
        sim = "DJANGO_DEBUG=True .venv/bin/python manage.py ghl_simulate"
        embed = ""
        if settings.EMBED_SANDBOX_TOKEN:
            query = urlencode(
                {
                    "location_id": r["location_id"],
                    "user_id": "demo-user",
                    "agency_id": "demo-agency",
                    "token": settings.EMBED_SANDBOX_TOKEN,
                }
            )
            embed = f"""
Kotally as GoHighLevel shows it (embed sandbox, no GHL needed; see docs/embed.md):
  {base}/embed/sandbox-launch?{query}
"""
        self.stdout.write(
            f"""
Kotally demo data ready.
  Workspace:   {r["workspace"]}
  Location:    {r["location_id"]}
  Sign in:     {base}/accounts/login/  as {r["owner"]["email"]} / {r["owner"]["password"]}
  API token:   {r["token"]}
  Package:     {pkg["id"]} (calendar {pkg["calendar_id"]})
  Membership:  {r["product_configs"]["membership"]["id"]}

Grant a 10-class pack:
  curl -s -X POST {base}/api/v2/grants {auth} -d '{grant}'
Book a class (deduct one credit):
  curl -s -X POST {base}/api/v2/entitlements/deduct {auth} -d '{deduct}'
API docs: {base}/api/v2/docs/

Try the GoHighLevel path without GHL (signed webhooks from a dev key; see docs/ghl-simulator.md):
  {sim} purchase --location-id {r["location_id"]} --contact-id member-2 \\
      --product-id prod_demo_class_pack
  {sim} booking --location-id {r["location_id"]} --contact-id member-2 \\
      --calendar-id {pkg["calendar_id"]}
{embed}"""
        )
