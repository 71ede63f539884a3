"""Read-only console pages of the outbox: an operator sees what is pending or dead (and why).

Who may see them: the system administrator (运维 is theirs), checked here because the outbox
is operational data of the platform, not a record anyone edits.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from onewindow.events.models import Delivery, OutboxEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewing follows the console's role groups (identity.services.ADMIN_ROLE_PERMISSIONS:
    the system administrator); nobody adds, changes or deletes here."""

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("consumer", "status", "attempts", "next_attempt_at", "done_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "key", "created_at", "delivered_at")
    list_filter = ("name",)
    search_fields = ("key",)
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "event", "consumer", "status", "attempts", "next_attempt_at", "done_at")
    list_filter = ("status", "consumer")
    search_fields = ("event__key", "consumer")
    list_select_related = ("event",)
    raw_id_fields = ("event",)
