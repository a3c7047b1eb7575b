"""Locations in the support admin (/staff/). Status is read-only: it changes through the
"Remove" action, which calls locations.services. The encrypted Stripe columns are never shown.
The per-location summary page is added by console/admin.py (it reads several apps)."""

from django.contrib import admin, messages

from .models import Location
from .services import location_details_update, location_remove


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["location_id", "name", "workspace", "kind", "status", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["location_id", "name", "workspace__name"]
    list_select_related = ["workspace"]
    # stripe_webhook_secret_enc / stripe_restricted_key_enc are left out on purpose.
    fields = [
        "location_id",
        "workspace",
        "kind",
        "status",
        "name",
        "cancellation_window_hours",
        "stripe_fallback_enabled",
        "created_at",
    ]
    readonly_fields = [
        "location_id",
        "workspace",
        "kind",
        "status",
        "stripe_fallback_enabled",
        "created_at",
    ]
    actions = ["remove_locations"]

    def has_add_permission(self, request):
        return False  # locations come from a GHL install or the API path

    def has_delete_permission(self, request, obj=None):
        return False  # data is kept: "Remove" marks a location removed

    def save_model(self, request, obj, form, change):
        location_details_update(
            location=obj,
            name=form.cleaned_data["name"],
            cancellation_window_hours=form.cleaned_data["cancellation_window_hours"],
        )

    @admin.action(description="Remove (tokens stop working, data is kept)")
    def remove_locations(self, request, queryset):
        removed = sum(location_remove(location=location) for location in queryset.order_by("pk"))
        self.message_user(request, f"{removed} location(s) removed.", messages.SUCCESS)
