from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"

    def ready(self):
        from kotally.lib import epoch
        from locations.signals import location_removed

        from .services import AUTH_FIELDS, on_location_removed

        # A removed location's API tokens stop working with the removal's commit.
        location_removed.connect(on_location_removed, dispatch_uid="api.deactivate_clients")
        # A change to what authentication reads ends what every process cached (api/authcache.py).
        for model, fields in AUTH_FIELDS.items():
            epoch.watch(model, fields)
