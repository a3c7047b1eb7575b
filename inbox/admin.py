"""Staff view of the inbox: every inbound event, read-only; retrying goes through the inbox."""

from django.contrib import admin, messages

from .models import InboundEvent
from .processing import retry_failed


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "event_type",
        "location",
        "status",
        "reason_code",
        "attempts",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["event_id", "event_type", "reason_code", "location_ref"]
    list_select_related = ["location"]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry failed events")
    def retry(self, request, queryset):
        retried = sum(retry_failed(event) for event in queryset)
        self.message_user(request, f"{retried} failed event(s) queued again.", messages.SUCCESS)
