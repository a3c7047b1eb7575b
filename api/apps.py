from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"

    def ready(self):
        from locations.signals import location_removed

        from .services import on_location_removed

        # A removed location's API tokens stop working with the removal's commit.
        location_removed.connect(on_location_removed, dispatch_uid="api.deactivate_clients")
