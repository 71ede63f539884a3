"""Catalog editing in the admin console: system admins edit everything; a catalog editor
(事项管理员) sees and edits only their own department's items. Published versions are
read-only: editing means creating a draft, then publishing it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from onewindow.catalog import services
from onewindow.catalog.models import (
    Fee,
    LifeEvent,
    Material,
    ServiceItem,
    ServiceVersion,
    SynonymGroup,
    VersionStatus,
)
from onewindow.catalog.schema import parse_schema
from onewindow.identity.models import Role


def _own_department(request: HttpRequest) -> int | None:
    """None for system admins (every department); the editor's department otherwise."""
    user: Any = request.user
    roles = set(user.roles.values_list("role", flat=True))
    if Role.SYSTEM_ADMIN in roles:
        return None
    staff = getattr(user, "staff", None)
    return staff.department_id if staff is not None else -1


class DepartmentScoped(admin.ModelAdmin):
    department_path = "department_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        own = _own_department(request)
        return qs if own is None else qs.filter(**{self.department_path: own})

    def _owns(self, request: HttpRequest, obj: Any) -> bool:
        own = _own_department(request)
        if obj is None or own is None:
            return True
        value = obj
        for part in self.department_path.split("__"):
            value = getattr(value, part)
        return bool(value == own)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._owns(request, obj)


@admin.register(ServiceItem)
class ServiceItemAdmin(DepartmentScoped):
    list_display = ("key", "name", "department", "item_type", "high_frequency", "is_active")
    list_filter = ("department", "item_type", "high_frequency", "life_events")
    search_fields = ("key", "name", "implementation_code")
    filter_horizontal = ("life_events",)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.search_entry_refresh(item=form.instance)  # name, keywords or status changed

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "department":
            own = _own_department(request)
            if own is not None:
                from onewindow.org.models import Department

                kwargs["queryset"] = Department.objects.filter(pk=own)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MaterialInline(admin.StackedInline):
    model = Material
    extra = 0


class FeeInline(admin.TabularInline):
    model = Fee
    extra = 0


class VersionForm(forms.ModelForm):
    class Meta:
        model = ServiceVersion
        fields = ("item", *services.VERSION_FIELDS, "form_schema")

    def clean_form_schema(self) -> Any:
        schema = self.cleaned_data["form_schema"]
        _, problems = parse_schema(schema)
        if problems:
            raise ValidationError([f"{p.path}: {p.reason}" for p in problems])
        return schema


@admin.register(ServiceVersion)
class ServiceVersionAdmin(DepartmentScoped):
    department_path = "item__department_id"
    form = VersionForm
    list_display = ("item", "number", "status", "published_at")
    list_filter = ("status", "item__department")
    search_fields = ("item__key", "item__name")
    inlines = [MaterialInline, FeeInline]
    actions = ["publish", "new_draft", "retire"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != VersionStatus.DRAFT:
            return False  # published and retired versions are immutable: view only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != VersionStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "item":
            own = _own_department(request)
            if own is not None:
                kwargs["queryset"] = ServiceItem.objects.filter(department_id=own)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: ServiceVersion, form: Any, change: bool
    ) -> None:
        if not change:
            from django.db.models import Max

            obj.number = (obj.item.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            obj.status = VersionStatus.DRAFT
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Publish the selected drafts"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[ServiceVersion]) -> None:
        for version in queryset.filter(status=VersionStatus.DRAFT):
            try:
                services.version_publish(version=version, actor=request.user.get_username())
            except ValidationError as exc:
                self.message_user(request, f"{version}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("Published %(v)s.") % {"v": version})

    @admin.action(
        description=_("Start a new draft from the selected versions"), permissions=["add"]
    )
    def new_draft(self, request: HttpRequest, queryset: QuerySet[ServiceVersion]) -> None:
        for version in queryset:
            draft = services.version_draft_from(version=version, actor=request.user.get_username())
            self.message_user(request, _("Created draft %(v)s.") % {"v": draft})

    @admin.action(description=_("Retire the selected published versions"), permissions=["change"])
    def retire(self, request: HttpRequest, queryset: QuerySet[ServiceVersion]) -> None:
        for version in queryset.filter(status=VersionStatus.PUBLISHED):
            services.version_retire(version=version, actor=request.user.get_username())
            self.message_user(request, _("Retired %(v)s.") % {"v": version})


@admin.register(LifeEvent)
class LifeEventAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "audience", "order")


@admin.register(SynonymGroup)
class SynonymGroupAdmin(admin.ModelAdmin):
    list_display = ("__str__",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        cache.delete(services.SYNONYMS_CACHE_KEY)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        cache.delete(services.SYNONYMS_CACHE_KEY)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        cache.delete(services.SYNONYMS_CACHE_KEY)
