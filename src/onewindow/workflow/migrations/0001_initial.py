import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="CalendarYear",
            fields=[
                (
                    "year",
                    models.PositiveSmallIntegerField(
                        primary_key=True, serialize=False, verbose_name="year"
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("chinese-calendar", "chinese-calendar package (2004-2026)"),
                            ("import", "imported by an administrator"),
                        ],
                        max_length=32,
                        verbose_name="source",
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                ("imported_at", models.DateTimeField(auto_now=True, verbose_name="imported at")),
            ],
            options={
                "verbose_name": "calendar year",
                "verbose_name_plural": "calendar years",
                "ordering": ["-year"],
            },
        ),
        migrations.CreateModel(
            name="CalendarDay",
            fields=[
                ("date", models.DateField(primary_key=True, serialize=False, verbose_name="date")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("holiday", "day off (holiday)"),
                            ("workday", "make-up workday (调休)"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("name", models.CharField(blank=True, max_length=64, verbose_name="name")),
                (
                    "year",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="days",
                        to="workflow.calendaryear",
                    ),
                ),
            ],
            options={
                "verbose_name": "calendar day",
                "verbose_name_plural": "calendar days",
                "ordering": ["date"],
            },
        ),
    ]
