from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="embed-index"),
    path("auth", views.auth, name="embed-auth"),
    path("dashboard", views.dashboard, name="embed-dashboard"),
    path("panel", views.panel, name="embed-panel"),
    path("sandbox-launch", views.sandbox_launch, name="embed-sandbox-launch"),
]
