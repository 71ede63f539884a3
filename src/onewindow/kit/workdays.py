"""Working-day arithmetic (工作日) for legal deadlines.

Working days are Monday to Friday, minus statutory holidays, plus make-up workdays (调休) that
the State Council announces each year. Counting starts the day after the start date
(行政许可法: the limit runs from the day after acceptance). A year without announced data
falls back to Monday-Friday minus the fixed holidays of 《全国年节及纪念日放假办法》 (2024
revision), and every deadline that touches such a year is flagged provisional.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


class WorkdayCalendar(Protocol):
    def year_data(self, year: int) -> YearData: ...


@dataclass(frozen=True)
class YearData:
    official: bool  # announced data (or the fallback: False)
    holidays: frozenset[dt.date]  # days off, including weekends inside a holiday period
    workdays: frozenset[dt.date]  # make-up workdays on weekends (调休)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def statutory_holidays(year: int) -> dict[dt.date, str]:
    """The fixed statutory holidays of a year (no 调休): 元旦 1; 春节 4 days from 除夕; 清明 1;
    劳动节 May 1-2; 端午 1; 中秋 1; 国庆 Oct 1-3. Lunar dates computed with lunar-python."""
    from lunar_python import Lunar, Solar

    def solar(lunar: Lunar) -> dt.date:
        s = lunar.getSolar()
        return dt.date(s.getYear(), s.getMonth(), s.getDay())

    days: dict[dt.date, str] = {dt.date(year, 1, 1): "元旦"}
    new_year = solar(Lunar.fromYmd(year, 1, 1))
    for offset in range(-1, 3):  # 除夕 and 初一 to 初三
        days[new_year + dt.timedelta(days=offset)] = "春节"
    qingming = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    days[dt.date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = "清明节"
    days[dt.date(year, 5, 1)] = days[dt.date(year, 5, 2)] = "劳动节"
    days[solar(Lunar.fromYmd(year, 5, 5))] = "端午节"
    days[solar(Lunar.fromYmd(year, 8, 15))] = "中秋节"
    for day in (1, 2, 3):
        days[dt.date(year, 10, day)] = "国庆节"
    return {d: n for d, n in days.items() if d.year == year}


def fallback_year(year: int) -> YearData:
    return YearData(
        official=False, holidays=frozenset(statutory_holidays(year)), workdays=frozenset()
    )


MAX_WORKING_DAYS = 3650


@dataclass(frozen=True)
class Deadline:
    due_date: dt.date
    provisional: bool


def add_working_days(start: dt.date, working_days: int, calendar: WorkdayCalendar) -> Deadline:
    """The date on which ``working_days`` working days after ``start`` have passed.

    0 working days is the start date itself (即办件: done on the spot).
    """
    if not 0 <= working_days <= MAX_WORKING_DAYS:
        raise ValueError(f"working_days must be 0..{MAX_WORKING_DAYS}")
    day = start
    remaining = working_days
    provisional = False
    year_cache: dict[int, YearData] = {}
    while remaining:
        day += dt.timedelta(days=1)
        data = year_cache.get(day.year) or year_cache.setdefault(
            day.year, calendar.year_data(day.year)
        )
        provisional = provisional or not data.official
        if data.is_workday(day):
            remaining -= 1
    return Deadline(due_date=day, provisional=provisional)


def working_days_between(start: dt.date, end: dt.date, calendar: WorkdayCalendar) -> int:
    """How many working days lie after ``start`` up to and including ``end``.

    This is the inverse of :func:`add_working_days` on working days: for a working day ``end``,
    ``add_working_days(start, working_days_between(start, end)) == end``. When ``end`` is
    before ``start`` the answer is negative (the working days after ``end`` up to ``start``):
    an overdue clock that stops keeps its debt.
    """
    if end < start:
        return -working_days_between(end, start, calendar)
    if (end - start).days > MAX_WORKING_DAYS * 2:
        raise ValueError("dates are too far apart")
    count = 0
    day = start
    year_cache: dict[int, YearData] = {}
    while day < end:
        day += dt.timedelta(days=1)
        data = year_cache.get(day.year) or year_cache.setdefault(
            day.year, calendar.year_data(day.year)
        )
        if data.is_workday(day):
            count += 1
    return count
