"""Read-mostly support views of the credit domain. Credit movements are never made here:
they go through the engine (the contact page's manual adjustment)."""

from django.contrib import admin

from .models import Appointment, Contact, Entitlement, LedgerEntry, PaymentEvent, ProductConfig


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProductConfig)
class ProductConfigAdmin(ReadOnlyAdmin):
    list_display = ["name", "public_id", "location", "kind", "priority", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "public_id", "ghl_product_id", "location__location_id"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "name", "email", "location", "created_at"]
    search_fields = ["external_id", "email", "name", "location__location_id"]


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "contact",
        "product_config",
        "status",
        "credits_remaining",
        "credits_granted",
        "expires_at",
    ]
    list_filter = ["status"]
    search_fields = ["public_id", "contact__external_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "created_at",
        "kind",
        "amount",
        "balance_after",
        "source",
        "contact",
        "request_id",
    ]
    list_filter = ["kind", "source"]
    search_fields = ["public_id", "request_id", "external_ref", "contact__external_id"]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "provider",
        "external_payment_id",
        "outcome",
        "amount_cents",
        "paid_at",
        "location",
    ]
    list_filter = ["provider", "outcome"]
    search_fields = ["public_id", "external_payment_id", "contact__external_id"]


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "contact",
        "calendar_id",
        "start_time",
        "status",
        "credits_deducted",
    ]
    list_filter = ["status", "source"]
    search_fields = ["external_id", "contact__external_id"]
