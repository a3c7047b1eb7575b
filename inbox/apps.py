from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"

    def ready(self):
        from locations.signals import location_linked

        from .processing import on_location_linked

        location_linked.connect(on_location_linked, dispatch_uid="inbox.release_linked")
