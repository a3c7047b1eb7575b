"""Small template helpers for the admin UI."""

from datetime import datetime

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone

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
def iso_date(value, format_string):
    """One of the selectors' ISO 8601 strings as a date in the current time zone, in the `date`
    filter's format ("M j, Y H:i"): parsed, converted and formatted in one filter instead of
    two (a long-standing member's page shows a hundred of them)."""
    if not value:
        return ""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return ""
    return dateformat.format(timezone.localtime(at), format_string)


@register.filter
def money(cents):
    """Cents as dollars: 5900 → "$59.00"."""
    if cents is None:
        return "—"
    return f"${cents / 100:,.2f}"
