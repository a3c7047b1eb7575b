"""Small template helpers for the admin UI."""

from datetime import datetime

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def optional_url(name, *args):
    """The URL for `name`, or "" while the view that owns it is not installed (e.g. 'events'
    and 'ghl-connect', built by the GHL integration)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.filter
def iso_datetime(value):
    """The selectors' ISO 8601 strings back to datetimes, so templates can format them."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


@register.filter
def money(cents):
    """Cents as dollars: 5900 → "$59.00"."""
    if cents is None:
        return "—"
    return f"${cents / 100:,.2f}"
