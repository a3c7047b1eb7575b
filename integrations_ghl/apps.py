from django.apps import AppConfig


class IntegrationsGhlConfig(AppConfig):
    name = "integrations_ghl"

    def ready(self):
        from entitlements import events
        from inbox.models import Provider
        from inbox.processing import Needs, register

        from . import handlers, installs, writeback

        events.subscribe(writeback.on_event)

        ghl = Provider.GHL
        # App lifecycle: never held (an uninstall must always disconnect); minting a location
        # token is a network call, so these run outside the inbox's transaction.
        register(ghl, ["INSTALL"], installs.handle_install, needs=Needs.NOTHING,
                 holdable=False, atomic=False)
        register(ghl, ["UNINSTALL"], installs.handle_uninstall, needs=Needs.NOTHING,
                 holdable=False, atomic=False)
        register(ghl, ["ContactCreate", "ContactUpdate"], handlers.contact_upsert,
                 needs=Needs.LOCATION)
        register(ghl, [handlers.INVOICE_PAID], handlers.invoice_paid)
        register(ghl, [handlers.INVOICE_OTHER], handlers.invoice_not_paid)
        register(ghl, ["OrderCreate", "OrderStatusUpdate"], handlers.order_paid)
        register(ghl, ["AppointmentCreate"], handlers.appointment_create)
        register(ghl, ["AppointmentUpdate"], handlers.appointment_update)
        register(ghl, ["AppointmentDelete"], handlers.appointment_cancel)
