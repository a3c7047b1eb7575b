from django.urls import path

from . import views

urlpatterns = [
    path("oauth/ghl/start", views.ghl_connect, name="ghl-connect"),
    path("oauth/ghl/callback", views.ghl_callback, name="ghl-callback"),
    path("oauth/ghl/finish", views.ghl_finish, name="ghl-finish"),
    path(
        "integrations/ghl/locations/<str:location_id>/pickers",
        views.ghl_pickers,
        name="ghl-pickers",
    ),
    path(
        "integrations/ghl/locations/<str:location_id>/writeback",
        views.location_writeback,
        name="ghl-writeback",
    ),
]
