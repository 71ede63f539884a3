"""``onewindow manage datahub_quality [--dataset KEY] [--examples N] [--json]``: the report."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from onewindow.datahub import quality
from onewindow.datahub.models import Dataset


class Command(BaseCommand):
    help = (
        "Data quality per dataset: invalid check digits, duplicates, stale records, deceased "
        "persons with active benefits; counts and masked examples. Exit status 1 if any defect."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", help="one dataset key (default: all active datasets)")
        parser.add_argument("--examples", type=int, default=quality.DEFAULT_EXAMPLES)
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = quality.quality_report(
                dataset_key=options["dataset"], examples=options["examples"]
            )
        except Dataset.DoesNotExist:
            raise CommandError(
                _("No active dataset %(key)s.") % {"key": options["dataset"]}
            ) from None
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "dataset": d.key,
                            "name": d.name,
                            "rows": d.rows,
                            "checks": {
                                c.check: {
                                    "count": c.count,
                                    "examples": [
                                        {"subject": e.subject, "detail": e.detail}
                                        for e in c.examples
                                    ],
                                }
                                for c in d.checks
                            },
                        }
                        for d in report
                    ],
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            for dataset in report:
                self.stdout.write(
                    f"{dataset.key} {dataset.name}: "
                    + _("%(rows)d rows, %(defects)d defects")
                    % {"rows": dataset.rows, "defects": dataset.defects}
                )
                for check in dataset.checks:
                    self.stdout.write(f"  {check.check:<24} {check.count:>6}  {check.label}")
                    for example in check.examples:
                        self.stdout.write(f"      - {example.subject}: {example.detail}")
        if any(d.defects for d in report):
            raise SystemExit(1)
