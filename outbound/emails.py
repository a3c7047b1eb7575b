"""The email owners get when Kotally disables a failing webhook endpoint."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Role, User

from .models import Endpoint


def send_endpoint_disabled(endpoint: Endpoint, reason: str) -> None:
    location = endpoint.location
    owners = list(
        User.objects.filter(
            memberships__workspace_id=location.workspace_id, memberships__role=Role.OWNER
        ).values_list("email", flat=True)
    )
    if not owners:
        return
    path = reverse(
        "webhook-endpoint",
        kwargs={"location_id": location.location_id, "endpoint_id": endpoint.public_id},
    )
    context = {
        "endpoint": endpoint,
        "location": location,
        "reason": reason,
        "url": settings.KOTALLY_BASE_URL.rstrip("/") + path,
    }
    send_mail(
        subject=f"Kotally disabled a webhook endpoint of {location}",
        message=render_to_string("outbound/endpoint_disabled_email.txt", context),
        from_email=None,
        recipient_list=owners,
    )
