from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from inbox.models import Provider
        from inbox.processing import Needs, register
        from locations.signals import billed_locations_changed

        from . import handlers, receivers

        # Billing events name no location, are never held (billing is what lifts a hold) and
        # read the subscription from Stripe, so they run outside the inbox's transaction.
        register(
            Provider.STRIPE_BILLING,
            handlers.EVENT_TYPES,
            handlers.subscription_changed,
            needs=Needs.NOTHING,
            holdable=False,
            atomic=False,
        )
        billed_locations_changed.connect(
            receivers.sync_quantity_after_commit, dispatch_uid="billing.sync_quantity"
        )
