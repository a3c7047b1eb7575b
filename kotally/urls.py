from django.contrib import admin
from django.urls import include, path, re_path

from api.views import route_not_found
from billing.webhooks import billing_stripe_webhook
from integrations_ghl.webhooks import ghl_webhook
from integrations_stripe.webhooks import merchant_stripe_webhook

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v2/", include("api.urls")),
    re_path(r"^api(/.*)?$", route_not_found),
    path("staff/", admin.site.urls),
    # Admin web UI (SPEC §4).
    path("", include("accounts.urls")),
    path("", include("locations.urls")),
    path("", include("console.urls")),
    path("", include("outbound.urls")),
    path("", include("entitlements.urls")),
    path("api-clients/", include("api.page_urls")),
    path("billing/", include("billing.urls")),
    # GHL install (OAuth start/callback/finish) and the Product Config pickers.
    path("", include("integrations_ghl.urls")),
    # Inbound webhooks (SPEC §5.2, §6.2); `billing` is Kotally's own billing endpoint.
    path("webhooks/ghl", ghl_webhook, name="webhook-ghl"),
    path("webhooks/stripe/billing", billing_stripe_webhook, name="webhook-stripe-billing"),
    re_path(
        r"^webhooks/stripe/(?P<location_id>(?!billing$)[^/]+)$",
        merchant_stripe_webhook,
        name="webhook-stripe-merchant",
    ),
    path("events/", include("inbox.urls")),
    # The read-only pages GoHighLevel frames (SPEC §5.4).
    path("embed/", include("embed.urls")),
]

handler400 = "kotally.errors.bad_request"
handler500 = "kotally.errors.server_error"
