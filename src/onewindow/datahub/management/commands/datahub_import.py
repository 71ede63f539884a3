"""``onewindow manage datahub_import DATASET FILE [--dry-run]``: import a CSV or Excel file."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from onewindow.datahub import importing
from onewindow.datahub.models import Dataset


class Command(BaseCommand):
    help = (
        "Import a CSV (UTF-8) or .xlsx file into a dataset or registry: every row is checked, "
        "valid rows are imported, each rejected row is reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="dataset key, e.g. population, tax_arrears")
        parser.add_argument("file", help=".csv (UTF-8, BOM allowed) or .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="check only, import nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            report = importing.dataset_import(
                dataset_key=options["dataset"],
                file_name=path.name,
                content=content,
                actor=f"operator:{getpass.getuser()}",
                dry_run=options["dry_run"],
                progress=importing.terminal_progress,
            )
        except Dataset.DoesNotExist:
            raise CommandError(
                _("No active dataset %(key)s.") % {"key": options["dataset"]}
            ) from None
        for problem in report.problems:
            self.stderr.write(str(problem))
        summary = _(
            "%(file)s (SM3 %(sm3)s): %(total)d rows, %(ok)d valid, %(rejected)d rejected"
        ) % {
            "file": report.file_name,
            "sm3": report.file_sm3[:16],
            "total": report.rows_total,
            "ok": report.rows_ok,
            "rejected": report.rows_rejected,
        }
        if report.file_rejected:
            raise CommandError(summary + "; " + _("the file was rejected, nothing was imported"))
        if report.dry_run:
            self.stdout.write(summary + "; " + _("dry run, nothing was imported"))
        else:
            self.stdout.write(
                summary + "; " + _("import batch %(batch)s") % {"batch": report.batch_id or "-"}
            )
        if report.rows_rejected:
            raise SystemExit(1)
