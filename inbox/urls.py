from django.urls import path

from . import views

urlpatterns = [
    path("", views.event_list, name="events"),
    path("export.csv", views.event_export, name="events-export"),
    path("<int:pk>/", views.event_detail, name="event"),
    path("<int:pk>/retry/", views.event_retry, name="event-retry"),
    path("<int:pk>/reprocess/", views.event_reprocess, name="event-reprocess"),
]
