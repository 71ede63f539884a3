"""The console and `onewindow check` warn when this year's or next year's calendar is missing."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register


@register("calendar", "database")
def calendar_years(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[Warning]:
    if not databases:
        return []
    from django.db import DatabaseError

    from onewindow.workflow.calendar import missing_years

    try:
        missing = missing_years()
    except DatabaseError:
        return []
    return [
        Warning(
            f"No official working-day calendar for {year}: deadlines in {year} use the "
            "statutory fallback (Mon-Fri minus fixed holidays) and are marked provisional.",
            hint="Import the State Council's holiday notice: onewindow calendar import FILE",
            id="onewindow.W003",
        )
        for year in missing
    ]
