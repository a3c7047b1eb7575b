from django.urls import path

from . import views

urlpatterns = [
    path("getting-started/", views.getting_started, name="getting-started"),
    path("getting-started/use-api/", views.use_api, name="use-api"),
    path("locations/", views.location_list, name="locations"),
    path("locations/new-api/", views.location_new_api, name="location-new-api"),
    path(
        "locations/<str:location_id>/remove/",
        views.location_remove_view,
        name="location-remove",
    ),
    path(
        "locations/<str:location_id>/stripe/",
        views.location_stripe,
        name="location-stripe",
    ),
]
