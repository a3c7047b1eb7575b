from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "outbound"

    def ready(self):
        from entitlements import events

        from . import services

        events.subscribe(
            services.fan_out, interest=services.INTEREST, reads=services.INTEREST_READS
        )
