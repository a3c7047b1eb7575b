from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"

    def ready(self):
        from kotally.lib import epoch

        from .models import ProductConfig

        # Any change to a config ends the copies API requests keep (services._active_config).
        epoch.watch(ProductConfig)
