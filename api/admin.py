from django.contrib import admin, messages

from .models import ApiClient
from .services import api_client_deactivate


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "location",
        "active",
        "created_at",
        "last_used_at",
        "rate_limited_count",
    ]
    list_filter = ["active"]
    search_fields = ["name", "client_id", "location__location_id"]
    # Tokens are minted only through the API Clients page; the hash is never editable here, and
    # `active` changes only through the Deactivate action (a deactivated token stays dead).
    readonly_fields = [
        "client_id",
        "location",
        "active",
        "secret_hash",
        "created_by",
        "created_at",
        "rotated_at",
        "last_used_at",
        "rate_limited_count",
        "last_rate_limited_at",
    ]
    actions = ["deactivate"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Deactivate (the token stops working)")
    def deactivate(self, request, queryset):
        clients = list(queryset.filter(active=True).order_by("pk"))
        for client in clients:
            api_client_deactivate(client=client)
        self.message_user(request, f"{len(clients)} API client(s) deactivated.", messages.SUCCESS)
