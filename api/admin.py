from django.contrib import admin

from .models import ApiClient


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
    # Tokens are minted only through the API Clients page; the hash is never editable here.
    readonly_fields = [
        "client_id",
        "location",
        "secret_hash",
        "created_by",
        "created_at",
        "rotated_at",
        "last_used_at",
        "rate_limited_count",
        "last_rate_limited_at",
    ]

    def has_add_permission(self, request):
        return False
