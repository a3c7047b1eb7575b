from django.urls import path

import kotally.lib.paths  # noqa: F401 (registers the `key` converter)

from . import views

urlpatterns = [
    path("oauth/ghl/start", views.ghl_connect, name="ghl-connect"),
    path("oauth/ghl/callback", views.ghl_callback, name="ghl-callback"),
    path("oauth/ghl/finish", views.ghl_finish, name="ghl-finish"),
    path(
        "integrations/ghl/locations/<key:location_id>/pickers",
        views.ghl_pickers,
        name="ghl-pickers",
    ),
    path(
        "integrations/ghl/locations/<key:location_id>/writeback",
        views.location_writeback,
        name="ghl-writeback",
    ),
]
