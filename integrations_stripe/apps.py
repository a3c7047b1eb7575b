from django.apps import AppConfig


class IntegrationsStripeConfig(AppConfig):
    name = "integrations_stripe"

    def ready(self):
        from inbox.models import Provider
        from inbox.processing import register

        from . import handlers

        merchant = Provider.STRIPE_MERCHANT
        # Reading Checkout line items and invoice payments are network calls: outside the
        # inbox's transaction (grants are idempotent on their payment keys, so a re-run finds
        # them done).
        register(merchant, handlers.CHECKOUT_PAID, handlers.checkout_paid, atomic=False)
        register(merchant, [handlers.INVOICE_PAID], handlers.invoice_paid, atomic=False)
        register(merchant, [handlers.CHARGE_REFUNDED], handlers.charge_refunded)
        register(merchant, [handlers.DISPUTE_CREATED], handlers.dispute_created)
