"""Billing actions on the staff workspace admin: the billing status column is read-only
(accounts/admin.py) and changes only through billing.services, so pending locations go active
and held webhooks are replayed exactly as when billing changes any other way."""

from django.contrib import admin, messages

from accounts.admin import WorkspaceAdmin
from accounts.models import BillingStatus, Workspace

from .services import billing_set_status, billing_start_trial


class BillingWorkspaceAdmin(WorkspaceAdmin):
    actions = ["start_trial", "mark_active", "suspend"]

    @admin.action(description="Start trial (only from “Not started”)")
    def start_trial(self, request, queryset):
        for workspace in queryset.order_by("pk"):
            if billing_start_trial(workspace=workspace):
                self.message_user(request, f"{workspace}: trial started.", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"{workspace}: a trial only starts from “Not started” (it is "
                    f"{workspace.get_billing_status_display()}).",
                    messages.WARNING,
                )

    def _set(self, request, queryset, status: str) -> None:
        workspaces = list(queryset.order_by("pk"))
        for workspace in workspaces:
            billing_set_status(workspace=workspace, status=status)
        label = BillingStatus(status).label
        self.message_user(request, f"{len(workspaces)} workspace(s) now {label}.", messages.SUCCESS)

    @admin.action(description="Mark billing active")
    def mark_active(self, request, queryset):
        self._set(request, queryset, BillingStatus.ACTIVE)

    @admin.action(description="Suspend billing")
    def suspend(self, request, queryset):
        self._set(request, queryset, BillingStatus.SUSPENDED)


admin.site.unregister(Workspace)
admin.site.register(Workspace, BillingWorkspaceAdmin)
