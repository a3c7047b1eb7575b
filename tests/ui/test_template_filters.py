"""The admin's template filters."""

import pytest
from django.utils import timezone

from accounts.templatetags.kotally_ui import iso_date


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("M j, Y H:i", "Mar 1, 2025 07:05"),
        ("M j, Y", "Mar 1, 2025"),
        ("D M j, H:i", "Sat Mar 1, 07:05"),
    ],
)
def test_iso_date_shows_a_selector_timestamp_in_the_current_time_zone(fmt, shown):
    with timezone.override("America/New_York"):
        assert iso_date("2025-03-01T12:05:00Z", fmt) == shown


@pytest.mark.parametrize("value", [None, "", "not a date"])
def test_iso_date_shows_nothing_for_a_missing_or_unreadable_timestamp(value):
    assert iso_date(value, "M j, Y") == ""
