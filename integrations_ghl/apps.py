from django.apps import AppConfig


class IntegrationsGhlConfig(AppConfig):
    name = "integrations_ghl"

    def ready(self):
        from entitlements import events
        from inbox.models import Provider
        from inbox.processing import Needs, register

        from . import appointments, handlers, installs, writeback

        events.subscribe(
            writeback.on_event, interest=writeback.INTEREST, reads=writeback.INTEREST_READS
        )

        ghl = Provider.GHL
        # App lifecycle: never held for billing (an uninstall must always disconnect); minting
        # a location token is a network call, so these run outside the inbox's transaction.
        lifecycle = {"needs": Needs.NOTHING, "holdable": False, "atomic": False}
        register(ghl, ["INSTALL"], installs.handle_install, **lifecycle)
        register(ghl, ["UNINSTALL"], installs.handle_uninstall, **lifecycle)
        register(ghl, ["LocationCreate"], installs.handle_location_create, **lifecycle)
        register(
            ghl, ["ContactCreate", "ContactUpdate"], handlers.contact_upsert, needs=Needs.LOCATION
        )
        register(ghl, ["InvoicePaid"], handlers.invoice_paid)
        register(ghl, ["InvoiceVoid"], handlers.invoice_void)
        register(ghl, ["InvoicePartiallyPaid", handlers.INVOICE_OTHER], handlers.invoice_not_paid)
        register(ghl, ["OrderCreate", "OrderStatusUpdate"], handlers.order_paid)
        register(
            ghl,
            ["AppointmentCreate", "AppointmentUpdate", appointments.DELETE],
            appointments.appointment_event,
        )
