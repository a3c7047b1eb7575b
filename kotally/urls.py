from django.contrib import admin
from django.urls import include, path, re_path

from api.views import route_not_found

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v2/", include("api.urls")),
    re_path(r"^api(/.*)?$", route_not_found),
    path("staff/", admin.site.urls),
    # Admin web UI (SPEC §4).
    path("", include("accounts.urls")),
    path("", include("locations.urls")),
    path("", include("entitlements.urls")),
    path("api-clients/", include("api.page_urls")),
    path("billing/", include("billing.urls")),
    # GHL install (OAuth start/callback/finish) and the Product Config pickers.
    path("", include("integrations_ghl.urls")),
]
