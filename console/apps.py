from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """Pages that combine several apps (Getting Started, the Locations list with GHL health,
    the staff location summary); the top of the import order, below only kotally/urls."""

    name = "console"
