from django.urls import path

from . import events_views

urlpatterns = [
    path("", events_views.event_list, name="events"),
    path("<int:pk>/", events_views.event_detail, name="event"),
    path("<int:pk>/retry/", events_views.event_retry, name="event-retry"),
]
