"""The ``onewindow`` command.

onewindow serve [--host H] [--port P] [--workers N] [--threads T]
                                                      run the platform (granian, WSGI)
onewindow worker                                      run background jobs (huey)
onewindow migrate                                     apply database migrations
onewindow demo [--reset]                              seed (or reset) the demo city
onewindow demo accounts [--json]                      list the demo logins
onewindow check                                       Django's deployment checks
onewindow audit verify                                verify the audit hash chain
onewindow keys rotate                                 re-encrypt personal data with the current key
onewindow admins create NAME --role R --department D  create one of the three administrators
onewindow catalog import FILE [--dry-run]              import the catalog (all or nothing)
onewindow catalog export [FILE]                       export the published catalog as YAML
onewindow calendar import FILE                        load a year's holidays and 调休
onewindow workflow load FILE...                       load process definitions (YAML, validated)
onewindow datahub import DATASET FILE [--dry-run]     load a CSV/XLSX file, every bad row reported
onewindow datahub quality [DATASET] [--examples N]    the data quality report (exit 1 on defects)
onewindow backup [--output FILE]                      database + stored files in one archive
onewindow restore FILE [--force]                      verify an archive, then restore it
onewindow manage ARGS...                              any Django management command
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onewindow.settings")
    import django

    django.setup()


def _serve(args: argparse.Namespace) -> int:
    _setup_django()
    from granian import Granian
    from granian.constants import Interfaces

    from onewindow.health import pending_migrations

    pending = pending_migrations()
    if pending:
        print(
            f"onewindow: {len(pending)} migrations are not applied; run 'onewindow migrate'",
            file=sys.stderr,
        )
        return 2
    print(
        f"onewindow: serving on http://{args.host}:{args.port} "
        f"with {args.workers} worker(s) x {args.threads} thread(s)",
        file=sys.stderr,
    )
    Granian(
        "onewindow.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        # granian's backpressure counts open connections, not requests in flight: idle
        # keep-alive connections (browsers, balancers) hold it. Its default (backlog / workers)
        # stays; requests beyond the threads wait in granian's queue, not in Python.
        websockets=False,
        respawn_failed_workers=True,
        log_access=False,  # the request middleware logs each request as JSON
    ).serve()
    return 0


def _worker(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("run_huey")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def _demo(args: argparse.Namespace) -> int:
    _setup_django()
    from onewindow import demo

    if args.what == "accounts":
        accounts = demo.accounts()
        if args.json:
            print(json.dumps(accounts, ensure_ascii=False, indent=2))
        else:
            for a in accounts:
                print(f"{a['username']:<16} {a['password']:<22} {a['role']:<14} {a['department']}")
        return 0
    counts = demo.reset() if args.reset else demo.seed()
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    print(f"demo city 示范市 {'reset' if args.reset else 'seeded'}: {summary}")
    return 0


def _check(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=True, fail_level=args.fail_level, databases=["default"])
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _audit(args: argparse.Namespace) -> int:
    _setup_django()
    from onewindow.audit.services import audit_chain_verify

    report = audit_chain_verify()
    if report.ok:
        print(f"audit chain OK: {report.checked} rows verified")
        return 0
    where = f"seq {report.broken_seq}" + (f" (id {report.broken_id})" if report.broken_id else "")
    print(
        f"audit chain BROKEN at {where}: {report.reason}; {report.checked} rows before it verified",
        file=sys.stderr,
    )
    return 1


def _keys(args: argparse.Namespace) -> int:
    _setup_django()
    from onewindow.datahub.services import population_keys_rotate
    from onewindow.identity.keys import field_keys_rotate

    report = field_keys_rotate()
    persons = population_keys_rotate()
    print(
        f"re-encrypted {report.profiles} citizen profiles, {report.totp_secrets} TOTP "
        f"secrets and {persons} population registry entries with the current key"
    )
    return 0


def _admins(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.exceptions import ValidationError

    from onewindow.identity.services import admin_bootstrap
    from onewindow.org.selectors import department_get

    department = department_get(code=args.department)
    if department is None:
        print(f"onewindow: no department with code {args.department!r}", file=sys.stderr)
        return 2
    try:
        creds = admin_bootstrap(
            username=args.username,
            role=args.role,
            department=department,
            display_name=args.name or "",
        )
    except ValidationError as exc:
        print(f"onewindow: {'; '.join(exc.messages)}", file=sys.stderr)
        return 2
    print(f"created {args.role} {creds.username}; shown once, store them safely:")
    print(f"  password:    {creds.password}")
    print(f"  TOTP secret: {creds.totp_secret}")
    print(f"  otpauth URI: {creds.otpauth_uri}")
    return 0


def _catalog(args: argparse.Namespace) -> int:
    _setup_django()
    from pathlib import Path

    from onewindow.catalog import services

    if args.action == "export":
        text = services.catalog_export_yaml()
        if args.file in (None, "-"):
            sys.stdout.write(text)
        else:
            Path(args.file).write_text(text, encoding="utf-8")
            print(f"exported to {args.file}", file=sys.stderr)
        return 0
    if not args.file:
        print("onewindow: catalog import needs a FILE", file=sys.stderr)
        return 2
    try:
        source = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        data = services.catalog_load_yaml(source)
        if args.dry_run:
            report = services.catalog_validate(data, progress=services.terminal_progress)
            if report.problems:
                raise services.CatalogImportError(report)
            print(f"{len(data['items'])} items checked: no problems (nothing imported)")
            return 0
        import getpass

        report = services.catalog_import(
            data, actor=f"operator:{getpass.getuser()}", progress=services.terminal_progress
        )
    except services.CatalogImportError as exc:
        for problem in exc.report.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.report.problems)} problems; the catalog was NOT changed", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"onewindow: {exc}", file=sys.stderr)
        return 2
    print(
        f"catalog imported: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )
    return 0


def _workflow(args: argparse.Namespace) -> int:
    _setup_django()
    from pathlib import Path

    from onewindow.audit.services import audit_record
    from onewindow.kit.errors import ApiError
    from onewindow.workflow.services import definition_save

    status = 0
    for name in args.files:
        try:
            row = definition_save(source=Path(name).read_text("utf-8"))
        except OSError as exc:
            print(f"onewindow: {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        except ApiError as exc:
            print(f"onewindow: {name}: NOT loaded:", file=sys.stderr)
            for detail in exc.details:
                print(f"  {detail.field}: {detail.message} [{detail.code}]", file=sys.stderr)
            status = 1
            continue
        audit_record(
            actor="operator:cli",
            action="workflow.definition_load",
            object_type="workflow.processdefinition",
            object_id=row.pk,
            object_repr=str(row),
        )
        print(f"{name}: {row} loaded")
    return status


def _calendar(args: argparse.Namespace) -> int:
    _setup_django()
    from pathlib import Path

    import yaml

    from onewindow.workflow.calendar import CalendarImportError, calendar_year_import

    try:
        data = yaml.safe_load(Path(args.file).read_text("utf-8"))
        record = calendar_year_import(data=data, actor="operator:cli")
    except (OSError, yaml.YAMLError, CalendarImportError) as exc:
        print(f"onewindow: calendar NOT imported: {exc}", file=sys.stderr)
        return 1
    print(f"calendar {record.year} imported ({record.days.count()} days)")
    return 0


def _datahub(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    if args.action == "import" and not (args.dataset and args.file):
        print("onewindow: datahub import needs DATASET and FILE", file=sys.stderr)
        return 2
    try:
        if args.action == "import":
            dry_run = ["--dry-run"] if args.dry_run else []
            call_command("datahub_import", args.dataset, args.file, *dry_run)
        else:
            only = ["--dataset", args.dataset] if args.dataset else []
            call_command("datahub_quality", *only, "--examples", str(args.examples))
    except CommandError as exc:
        print(f"onewindow: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # 1: rows rejected / defects found
        return int(exc.code or 0)
    return 0


def _backup(args: argparse.Namespace) -> int:
    _setup_django()
    from pathlib import Path

    from onewindow.ops.backup import BackupError, backup_create, default_archive_name

    try:
        report = backup_create(output=Path(args.output) if args.output else default_archive_name())
    except BackupError as exc:
        print(f"onewindow: backup failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"backup written: {report.path} ({report.size:,} bytes): the {report.vendor} database "
        f"({report.database_bytes:,} bytes) and {report.files} stored files "
        f"({report.file_bytes:,} bytes); the keys and secrets are NOT in it"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    _setup_django()
    from pathlib import Path

    from onewindow.ops.backup import BackupError, restore_archive

    try:
        report = restore_archive(path=Path(args.file), force=args.force)
    except BackupError as exc:
        print(f"onewindow: restore refused or failed: {exc}", file=sys.stderr)
        return 1
    left = (
        f"; {report.left_alone} other stored files left as they were" if report.left_alone else ""
    )
    print(
        f"restored the {report.vendor} database of {report.created_at} and {report.files} "
        f"stored files ({report.replaced} replaced){left}. "
        "Next: onewindow migrate, onewindow audit verify"
    )
    return 0


def _manage(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["onewindow manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onewindow", description="OneWindow (一网通办) e-government platform"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the platform with granian")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    serve.add_argument(
        "--threads",
        type=int,
        default=(os.cpu_count() or 1) * 2 + 1,
        help="Python threads per worker (one DB connection each); default 2 x cores + 1",
    )
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run background jobs and schedules (huey)")
    worker.set_defaults(func=_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--verbosity", type=int, default=1)
    migrate.set_defaults(func=_migrate)

    demo = sub.add_parser("demo", help="seed or reset the demo city; 'demo accounts' lists logins")
    demo.add_argument("what", nargs="?", choices=["seed", "accounts"], default="seed")
    demo.add_argument("--reset", action="store_true", help="delete the demo city, then seed it")
    demo.add_argument("--json", action="store_true", help="with 'accounts': print JSON")
    demo.set_defaults(func=_demo)

    check = sub.add_parser("check", help="run Django's deployment checks")
    check.add_argument(
        "--fail-level", default="ERROR", choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]
    )
    check.set_defaults(func=_check)

    audit = sub.add_parser("audit", help="audit trail tools")
    audit.add_argument("action", choices=["verify"])
    audit.set_defaults(func=_audit)

    keys = sub.add_parser("keys", help="field encryption keys")
    keys.add_argument("action", choices=["rotate"])
    keys.set_defaults(func=_keys)

    admins = sub.add_parser("admins", help="create one of the three administrators (三员)")
    admins.add_argument("action", choices=["create"])
    admins.add_argument("username")
    admins.add_argument(
        "--role", required=True, choices=["system_admin", "security_admin", "auditor"]
    )
    admins.add_argument("--department", required=True, help="department code, e.g. gov_services")
    admins.add_argument("--name", help="display name")
    admins.set_defaults(func=_admins)

    catalog = sub.add_parser("catalog", help="import or export the service catalog (YAML)")
    catalog.add_argument("action", choices=["import", "export"])
    catalog.add_argument("file", nargs="?", help="YAML file; '-' or none for stdin/stdout")
    catalog.add_argument("--dry-run", action="store_true", help="import: check only")
    catalog.set_defaults(func=_catalog)

    calendar = sub.add_parser("calendar", help="working-day calendar")
    calendar.add_argument("action", choices=["import"])
    calendar.add_argument("file", help="YAML: year, note, holidays, workdays")
    calendar.set_defaults(func=_calendar)

    workflow = sub.add_parser("workflow", help="process definitions")
    workflow.add_argument("action", choices=["load"])
    workflow.add_argument("files", nargs="+", help="process definition YAML files")
    workflow.set_defaults(func=_workflow)

    datahub = sub.add_parser("datahub", help="data hub: import a file, data quality report")
    datahub.add_argument("action", choices=["import", "quality"])
    datahub.add_argument("dataset", nargs="?", help="dataset key (import: required)")
    datahub.add_argument("file", nargs="?", help="import: .csv (UTF-8) or .xlsx")
    datahub.add_argument("--dry-run", action="store_true", help="import: check only")
    datahub.add_argument("--examples", type=int, default=5, help="quality: examples per check")
    datahub.set_defaults(func=_datahub)

    backup = sub.add_parser("backup", help="write the database and every stored file to an archive")
    backup.add_argument(
        "--output",
        help="archive path (.tar or .tar.gz); default onewindow-backup-<UTC time>.tar.gz",
    )
    backup.set_defaults(func=_backup)

    restore = sub.add_parser("restore", help="verify a backup archive, then restore it")
    restore.add_argument("file", help="an archive written by 'onewindow backup'")
    restore.add_argument(
        "--force", action="store_true", help="replace a database and storage that hold data"
    )
    restore.set_defaults(func=_restore)

    manage = sub.add_parser("manage", help="run any Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
