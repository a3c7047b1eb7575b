from django.urls import path

from . import views

# The location actions these pages post to (use-api, location-new-api, location-remove,
# location-stripe) are in locations/urls.py.
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("getting-started/", views.getting_started, name="getting-started"),
    path("locations/", views.location_list, name="locations"),
]
