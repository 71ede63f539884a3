"""``onewindow manage license_keys [DEPARTMENT ...] [--rotate] [--platform]``: signing keys."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onewindow.license import keys
from onewindow.license.models import SigningKey
from onewindow.org.models import Department


class Command(BaseCommand):
    help = (
        "Create e-license signing keys (SM2 for the license data, EC + X.509 for the PDF) for "
        "departments that have none, or with --rotate a new key that replaces the current one "
        "(licenses signed earlier stay verifiable). Without departments: list the keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("departments", nargs="*", help="department codes")
        parser.add_argument("--rotate", action="store_true", help="replace the current key")
        parser.add_argument("--platform", action="store_true", help="the platform's own key")

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = options["departments"]
        targets: list[Department | None] = []
        for code in codes:
            department = Department.objects.filter(code=code).first()
            if department is None:
                raise CommandError(f"no department with code {code!r}")
            targets.append(department)
        if options["platform"]:
            targets.append(None)
        for department in targets:
            current = SigningKey.objects.filter(
                department=department, retired_at__isnull=True
            ).first()
            if current is not None and not options["rotate"]:
                self.stdout.write(f"{current.key_id}: kept (use --rotate for a new key)")
                continue
            key = keys.key_create(department=department, actor="cli")
            self.stdout.write(f"{key.key_id}: created")
        if not targets:
            for key in SigningKey.objects.select_related("department"):
                owner = key.department.name if key.department else "platform"
                state = f"retired {key.retired_at:%Y-%m-%d}" if key.retired_at else "active"
                self.stdout.write(f"{key.key_id}\t{owner}\t{state}")
