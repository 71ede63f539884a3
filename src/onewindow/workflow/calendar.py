"""The platform's working-day calendar: the table, cached per year, with the statutory fallback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.kit.workdays import (
    Deadline,
    YearData,
    add_working_days,
    fallback_year,
    working_days_between,
)
from onewindow.workflow.models import CalendarDay, CalendarSource, CalendarYear, DayKind

CACHE_KEY = "workflow:calendar:{year}"


class DatabaseCalendar:
    """Reads a year's exceptions once and keeps them in the cache (invalidated on import).

    One instance also remembers the years it has read, so counting N days costs one cache
    read per year, not one per day; make a new instance per computation (they are cheap)."""

    def __init__(self) -> None:
        self._years: dict[int, YearData] = {}

    def year_data(self, year: int) -> YearData:
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = self._read(year)
        return known

    def _read(self, year: int) -> YearData:
        key = CACHE_KEY.format(year=year)
        cached = cache.get(key)
        if cached is None:
            if CalendarYear.objects.filter(year=year).exists():
                rows = list(CalendarDay.objects.filter(year_id=year).values_list("date", "kind"))
                cached = (
                    True,
                    [d for d, k in rows if k == DayKind.HOLIDAY],
                    [d for d, k in rows if k == DayKind.WORKDAY],
                )
            else:
                fallback = fallback_year(year)
                cached = (False, sorted(fallback.holidays), [])
            cache.set(key, cached, 3600)
        official, holidays, workdays = cached
        return YearData(
            official=official, holidays=frozenset(holidays), workdays=frozenset(workdays)
        )


def deadline(start: dt.date, working_days: int) -> Deadline:
    return add_working_days(start, working_days, DatabaseCalendar())


def working_days_left(today: dt.date, due: dt.date) -> int:
    """Working days after ``today`` up to ``due`` (negative when overdue)."""
    return working_days_between(today, due, DatabaseCalendar())


def missing_years(*, around: dt.date | None = None) -> list[int]:
    """This year and next, when their official calendar is not loaded yet."""
    today = around or dt.date.today()
    wanted = [today.year, today.year + 1]
    known = set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    return [y for y in wanted if y not in known]


class CalendarImportError(ValueError):
    pass


@transaction.atomic
def calendar_year_import(
    *, data: Any, actor: str = SYSTEM_ACTOR, source: str = CalendarSource.IMPORT
) -> CalendarYear:
    """Replace one year's holidays and make-up workdays, as in the State Council's notice::

    year: 2027
    note: 国务院办公厅关于2027年部分节假日安排的通知
    holidays: [{date: 2027-01-01, name: 元旦}, ...]     # every day off, weekends included
    workdays: [{date: 2027-02-13, name: 春节}, ...]     # weekend days that are workdays
    """
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise CalendarImportError(_("A calendar file names its year (e.g. year: 2027)."))
    year = data["year"]
    if not 2000 <= year <= 2100:
        raise CalendarImportError(_("The year must be between 2000 and 2100."))
    days: dict[dt.date, tuple[str, str]] = {}
    for kind in (DayKind.HOLIDAY, DayKind.WORKDAY):
        entries = data.get(f"{kind}s") or []
        if not isinstance(entries, list):
            raise CalendarImportError(_("%(k)s must be a list.") % {"k": f"{kind}s"})
        for entry in entries:
            day = entry.get("date") if isinstance(entry, dict) else None
            if isinstance(day, str):
                try:
                    day = dt.date.fromisoformat(day)
                except ValueError:
                    day = None
            if not isinstance(day, dt.date) or day.year != year:
                raise CalendarImportError(
                    _("%(entry)r is not a date in %(year)d.") % {"entry": entry, "year": year}
                )
            if day in days:
                raise CalendarImportError(_("%(day)s is listed twice.") % {"day": day})
            if kind == DayKind.WORKDAY and day.weekday() < 5:
                raise CalendarImportError(
                    _("%(day)s is a weekday: list only weekend days as make-up workdays.")
                    % {"day": day}
                )
            days[day] = (kind, str(entry.get("name", ""))[:64])
    record, _created = CalendarYear.objects.update_or_create(
        year=year, defaults={"source": source, "note": str(data.get("note", ""))[:200]}
    )
    CalendarDay.objects.filter(year=record).delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(date=d, year=record, kind=k, name=n) for d, (k, n) in sorted(days.items())
    )
    transaction.on_commit(lambda: cache.delete(CACHE_KEY.format(year=year)))
    audit_record(
        actor=actor,
        action="calendar.import",
        object_type="workflow.calendaryear",
        object_id=year,
        object_repr=str(year),
        detail={"days": len(days)},
    )
    return record
