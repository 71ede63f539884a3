"""``onewindow manage datahub_demo [--persons N] [--enterprises N]``: seed the demo hub."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.datahub import demo


class Command(BaseCommand):
    help = "Fill the data hub with the demo city's fictional registries (after `onewindow demo`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=10_000)
        parser.add_argument("--enterprises", type=int, default=1_000)
        parser.add_argument("--seed", type=int, default=demo.RANDOM_SEED)

    def handle(self, *args: Any, **options: Any) -> None:
        from onewindow.org.models import Department

        if not Department.objects.filter(code="public_security").exists():
            raise CommandError("Seed the demo city first: onewindow demo")
        started = time.monotonic()
        try:
            counts = demo.seed(
                persons=options["persons"],
                enterprises=options["enterprises"],
                random_seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        counts["seconds"] = round(time.monotonic() - started, 2)  # type: ignore[assignment]
        self.stdout.write(json.dumps(counts, ensure_ascii=False))
