from django.urls import path

import kotally.lib.paths  # noqa: F401 (registers the `key` converter)

from . import views

# Getting Started and the Locations list are console pages (console/urls.py).
urlpatterns = [
    path("getting-started/use-api/", views.use_api, name="use-api"),
    path("locations/new-api/", views.location_new_api, name="location-new-api"),
    path(
        "locations/<key:location_id>/remove/",
        views.location_remove_view,
        name="location-remove",
    ),
    path(
        "locations/<key:location_id>/rename/",
        views.location_rename_view,
        name="location-rename",
    ),
    path(
        "locations/<key:location_id>/stripe/",
        views.location_stripe,
        name="location-stripe",
    ),
]
