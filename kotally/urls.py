from django.contrib import admin
from django.urls import include, path, re_path

from api.views import route_not_found

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v2/", include("api.urls")),
    re_path(r"^api(/.*)?$", route_not_found),
    path("staff/", admin.site.urls),
]
