from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.forms.models import BaseInlineFormSet

from onewindow.identity.models import (
    AgentGrant,
    CitizenProfile,
    ClientPolicy,
    Enterprise,
    RoleAssignment,
    StaffProfile,
    User,
)


class RoleFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        from onewindow.identity.models import ADMIN_ROLES

        chosen = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if len([r for r in chosen if r in ADMIN_ROLES]) > 1:
            from django.core.exceptions import ValidationError
            from django.utils.translation import gettext

            raise ValidationError(gettext("One person cannot hold two administrator roles."))


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    formset = RoleFormSet
    extra = 0


class StaffInline(admin.StackedInline):
    model = StaffProfile
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "kind", "is_active", "last_login")
    list_filter = ("kind", "is_active", "roles__role")
    fieldsets = (
        (None, {"fields": ("username", "password", "display_name", "kind")}),
        ("Status", {"fields": ("is_active", "is_staff", "password_changed_at", "last_login")}),
    )
    readonly_fields = ("password_changed_at", "last_login", "is_staff")
    inlines = [StaffInline, RoleInline]

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        """Role rows edited here go through the service, which keeps the permission groups,
        ``is_staff`` and the one-admin-role rule in step."""
        from django.core.exceptions import ValidationError

        from onewindow.identity.services import roles_set

        super().save_related(request, form, formsets, change)
        user = form.instance
        try:
            roles_set(user=user, roles=list(user.roles.values_list("role", flat=True)))
        except ValidationError as exc:
            from django.contrib import messages

            messages.error(request, "; ".join(exc.messages))


@admin.register(CitizenProfile)
class CitizenProfileAdmin(admin.ModelAdmin):
    """Listing only: names masked, identifiers never shown (they are encrypted)."""

    list_display = ("user", "__str__", "phone_verified", "created_at")
    fields = ("user", "phone_verified", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ("uscc", "name", "legal_representative")
    search_fields = ("uscc", "name")


@admin.register(AgentGrant)
class AgentGrantAdmin(admin.ModelAdmin):
    list_display = ("enterprise", "agent", "services", "expires_at", "revoked_at")
    readonly_fields = ("granted_by", "granted_at", "revoked_by")


@admin.register(ClientPolicy)
class ClientPolicyAdmin(admin.ModelAdmin):
    list_display = ("application", "kind", "department", "allowed_scopes", "rate_limit_per_minute")
