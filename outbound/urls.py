from django.urls import path

from . import views

urlpatterns = [
    path("locations/<str:location_id>/webhooks/", views.endpoint_list, name="webhook-endpoints"),
    path(
        "locations/<str:location_id>/webhooks/<str:endpoint_id>/",
        views.endpoint_detail,
        name="webhook-endpoint",
    ),
    path(
        "locations/<str:location_id>/webhooks/<str:endpoint_id>/<str:action>/",
        views.endpoint_action,
        name="webhook-endpoint-action",
    ),
    path(
        "locations/<str:location_id>/webhooks/<str:endpoint_id>/deliveries/<int:delivery_pk>/"
        "resend/",
        views.delivery_resend_view,
        name="webhook-delivery-resend",
    ),
]
