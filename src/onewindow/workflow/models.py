"""The working-day calendar (工作日历): per year, the announced holidays and make-up workdays."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarSource(models.TextChoices):
    PACKAGE = "chinese-calendar", _("chinese-calendar package (2004-2026)")
    IMPORT = "import", _("imported by an administrator")


class CalendarYear(models.Model):
    """A year whose official holidays and 调休 are known. Years absent here are computed with
    the statutory fallback and every deadline touching them is provisional."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=32, choices=CalendarSource.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("day off (holiday)")
    WORKDAY = "workday", _("make-up workday (调休)")


class CalendarDay(models.Model):
    date = models.DateField(_("date"), primary_key=True)
    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    kind = models.CharField(_("kind"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"
