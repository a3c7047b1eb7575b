from django.urls import path

import kotally.lib.paths  # noqa: F401 (registers the `key` converter)

from . import views

urlpatterns = [
    path("locations/<key:location_id>/webhooks/", views.endpoint_list, name="webhook-endpoints"),
    path(
        "locations/<key:location_id>/webhooks/<key:endpoint_id>/",
        views.endpoint_detail,
        name="webhook-endpoint",
    ),
    path(
        "locations/<key:location_id>/webhooks/<key:endpoint_id>/<str:action>/",
        views.endpoint_action,
        name="webhook-endpoint-action",
    ),
    path(
        "locations/<key:location_id>/webhooks/<key:endpoint_id>/deliveries/<int:delivery_pk>/"
        "resend/",
        views.delivery_resend_view,
        name="webhook-delivery-resend",
    ),
]
