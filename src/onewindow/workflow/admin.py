from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from onewindow.workflow.calendar import missing_years
from onewindow.workflow.models import CalendarDay, CalendarYear


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "source", "note", "imported_at")
    inlines = [CalendarDayInline]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        for year in missing_years():
            messages.warning(
                request,
                _(
                    "No official calendar for %(year)d yet: deadlines in %(year)d are provisional. "
                    "Import the State Council's notice with 'onewindow calendar import'."
                )
                % {"year": year},
            )
        return super().changelist_view(request, extra_context)
