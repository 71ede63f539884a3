"""Seed 2004-2026 from the chinese-calendar package (the State Council's notices to 2026)."""

from django.db import migrations


def seed(apps, schema_editor):
    import chinese_calendar

    year_model = apps.get_model("workflow", "CalendarYear")
    day_model = apps.get_model("workflow", "CalendarDay")
    days = {}
    for kind, table in (
        ("holiday", chinese_calendar.holidays),
        ("workday", chinese_calendar.workdays),
    ):
        for date, name in table.items():
            if kind == "holiday" or date.weekday() >= 5:
                days[date] = (kind, str(name or "")[:64])
    years = sorted({d.year for d in days})
    for year in years:
        year_model.objects.update_or_create(
            year=year, defaults={"source": "chinese-calendar", "note": "chinese-calendar"}
        )
    day_model.objects.bulk_create(
        [day_model(date=d, year_id=d.year, kind=k, name=n) for d, (k, n) in sorted(days.items())],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
