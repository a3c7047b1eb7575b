"""The staff per-location summary (SPEC §4: status, billing, counts, recent events), added to
locations' LocationAdmin here because it reads entitlements, API clients and the inbox."""

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from api.models import ApiClient
from entitlements.models import Appointment, Contact, Entitlement, LedgerEntry, PaymentEvent
from inbox.models import InboundEvent
from locations.admin import LocationAdmin
from locations.models import Location

RECENT = 10


class LocationSummaryAdmin(LocationAdmin):
    list_display = [*LocationAdmin.list_display, "summary_link"]

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
            .only(
                "provider",
                "event_id",
                "event_type",
                "status",
                "reason_code",
                "last_error",
                "attempts",
                "received_at",
            )
            .order_by("-received_at", "-pk")[:RECENT],
        }
        return TemplateResponse(request, "console/staff/location_summary.html", context)


admin.site.unregister(Location)
admin.site.register(Location, LocationSummaryAdmin)
