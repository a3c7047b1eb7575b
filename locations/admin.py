"""Locations in the support admin, with a per-location summary page (SPEC §4)."""

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from api.models import ApiClient
from entitlements.models import Appointment, Contact, Entitlement, LedgerEntry, PaymentEvent
from integrations_ghl.models import InboundEvent

from .models import Location

RECENT = 10


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["location_id", "name", "workspace", "kind", "status", "created_at",
                    "summary_link"]
    list_filter = ["kind", "status"]
    search_fields = ["location_id", "name", "workspace__name"]
    readonly_fields = ["created_at"]

    @admin.display(description="Summary")
    def summary_link(self, obj):
        url = reverse("admin:locations_location_summary", args=[obj.pk])
        return format_html('<a href="{}">Summary</a>', url)

    def get_urls(self):
        summary = path(
            "<int:pk>/summary/",
            self.admin_site.admin_view(self.summary_view),
            name="locations_location_summary",
        )
        return [summary, *super().get_urls()]

    def summary_view(self, request, pk):
        location = get_object_or_404(Location.objects.select_related("workspace"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Location summary: {location.location_id}",
            "location": location,
            "counts": {
                "Contacts": Contact.objects.filter(location=location).count(),
                "Lots": Entitlement.objects.filter(location=location).count(),
                "Ledger entries": LedgerEntry.objects.filter(location=location).count(),
                "Payments": PaymentEvent.objects.filter(location=location).count(),
                "Appointments": Appointment.objects.filter(location=location).count(),
                "Active API clients": ApiClient.objects.filter(
                    location=location, active=True
                ).count(),
            },
            "payments": PaymentEvent.objects.filter(location=location)
            .select_related("contact")
            .order_by("-pk")[:RECENT],
            "appointments": Appointment.objects.filter(location=location)
            .select_related("contact")
            .order_by("-pk")[:RECENT],
            # Served by inbound_location_idx; the payload stays on the event's own admin page.
            "events": InboundEvent.objects.filter(location=location)
            .only("provider", "event_id", "event_type", "status", "reason_code", "last_error",
                  "attempts", "received_at")
            .order_by("-received_at", "-pk")[:RECENT],
        }
        return TemplateResponse(request, "admin/locations/location/summary.html", context)
