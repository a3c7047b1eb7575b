"""Staff view of GHL installations: connection health, never the tokens."""

from django.contrib import admin, messages

from . import installations
from .client import GhlError
from .models import Installation


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "workspace",
        "user_type",
        "active",
        "expires_at",
        "refreshed_at",
        "refresh_failures",
        "last_error",
    )
    list_filter = ("active", "user_type")
    search_fields = ("company_id", "location__location_id", "workspace__name")
    list_select_related = ("workspace", "location")
    # The encrypted token columns are left out entirely: staff never need them.
    fields = (
        "workspace",
        "user_type",
        "location",
        "company_id",
        "ghl_user_id",
        "scopes",
        "active",
        "expires_at",
        "refreshed_at",
        "refresh_failures",
        "last_error",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["refresh_now"]

    def has_add_permission(self, request):
        return False  # installations come from the OAuth callback only

    @admin.action(description="Refresh tokens now")
    def refresh_now(self, request, queryset):
        for installation in queryset.filter(active=True):
            try:
                installations.refresh_installation(
                    installation.pk, stale_token=installations.current_access_token(installation)
                )
            except GhlError as exc:
                self.message_user(request, f"{installation}: {exc}", messages.ERROR)
