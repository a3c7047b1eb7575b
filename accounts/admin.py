"""Support staff's Django admin at /staff/ (SPEC §4): superusers only.

State columns are read-only here. Roles change through the "Make owner/admin/viewer" actions
(accounts.services.member_set_role, which refuses to demote the last owner); billing status
through the billing actions billing/admin.py adds to the workspace admin."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import services
from .models import Membership, Role, User, Workspace


def _superusers_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


# The operator's support view; agency users never reach it, even if marked staff.
admin.site.has_permission = _superusers_only
admin.site.site_header = "Kotally support"
admin.site.site_title = "Kotally support"


class MembershipInline(admin.TabularInline):
    """Members of the workspace, for reading; changes go through the membership admin."""

    model = Membership
    extra = 0
    fields = ["user", "role", "created_at", "accepted_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_active", "is_superuser", "date_joined", "last_login"]
    search_fields = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "password1", "password2"]})]
    list_filter = ["is_active", "is_superuser"]
    filter_horizontal = []


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "billing_status", "trial_ends_at", "created_at"]
    list_filter = ["billing_status"]
    search_fields = ["name", "public_id", "stripe_customer_id"]
    # Billing state is set by billing (its actions), the GHL company id by the GHL install.
    readonly_fields = [
        "public_id",
        "billing_status",
        "trial_ends_at",
        "stripe_customer_id",
        "stripe_subscription_id",
        "ghl_company_id",
        "created_at",
    ]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    readonly_fields = ["user", "workspace", "role", "created_at", "accepted_at"]
    actions = ["make_owner", "make_admin", "make_viewer", "remove_members"]

    def has_add_permission(self, request):
        # Memberships come from sign-up and from invitations their invitee accepted: nobody,
        # staff included, puts a person into a workspace without their yes.
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # "Remove from workspace" keeps the last-owner rule

    def _each(self, request, queryset, change, done: str) -> None:
        changed = 0
        for membership in queryset.select_related("user", "workspace").order_by("pk"):
            try:
                change(membership)
            except services.LastOwner as exc:
                self.message_user(request, f"{membership}: {exc}", messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{changed} membership(s) {done}.", messages.SUCCESS)

    def _set_role(self, request, queryset, role: str) -> None:
        self._each(
            request,
            queryset,
            lambda m: services.member_set_role(membership=m, role=role),
            f"set to {role}",
        )

    @admin.action(description="Make owner")
    def make_owner(self, request, queryset):
        self._set_role(request, queryset, Role.OWNER)

    @admin.action(description="Make admin")
    def make_admin(self, request, queryset):
        self._set_role(request, queryset, Role.ADMIN)

    @admin.action(description="Make viewer")
    def make_viewer(self, request, queryset):
        self._set_role(request, queryset, Role.VIEWER)

    @admin.action(description="Remove from workspace")
    def remove_members(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda m: services.member_remove(membership=m),
            "removed",
        )
