"""Backup and restore (备份与恢复) of a whole installation: the database and every stored file in
one archive, with a manifest that restore checks completely before it changes anything.

The archive is a tar file (gzip-compressed when its name ends in ``.gz`` or ``.tgz``)::

    database/onewindow.sqlite3   SQLite: a copy made with sqlite3's online backup API
    database/onewindow.pgdump    PostgreSQL: pg_dump --format=custom
    media/<storage name>         every file of the default storage (materials, license PDFs)
    manifest.json                written last: format, created_at, database vendor, the latest
                                 applied migration per app, size and SHA-256 of every member

Not in the archive: the secrets (``ONEWINDOW_SECRET_KEY``, ``ONEWINDOW_FIELD_KEYS``,
``ONEWINDOW_LOOKUP_KEY``, ``ONEWINDOW_OIDC_RSA_KEY`` or their files in ``var/``). Personal data in
the database is encrypted under the field keys, so they are backed up apart (docs/operations.md).

Files are read and written only through Django's storage API (``storages["default"]``), never
through a filesystem path, so the same code serves a local directory or an object store. The
database is copied whole, below the ORM: no app's rows are written through models here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import posixpath
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import django
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

import onewindow
from onewindow.identity.crypto import keyring
from onewindow.kit.crypto import hmac_sm3_hex

FORMAT = "onewindow-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 256 * 1024 * 1024
DATABASE_MEMBERS = {
    "sqlite": "database/onewindow.sqlite3",
    "postgresql": "database/onewindow.pgdump",
}
VENDOR_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
MEDIA = "media/"
KEY_CHECK_TEXT = b"onewindow backup key check"
CHUNK = 1024 * 1024
# Tables that a fresh `onewindow migrate` fills by itself: rows there do not make a target
# "non-empty" (the audit chain head, the seeded working-day calendar, contenttypes and
# permissions, the default groups). Anything else holding a row does.
SEEDED_TABLES = frozenset(
    {
        "django_migrations",
        "django_content_type",
        "auth_permission",
        "auth_group",
        "auth_group_permissions",
        "audit_auditchainhead",
        "workflow_calendarday",
        "workflow_calendaryear",
    }
)


class BackupError(Exception):
    """A backup or restore that did not happen; the message is the one-line reason."""

    def __str__(self) -> str:
        return "; ".join(line.strip() for line in super().__str__().splitlines() if line.strip())


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    vendor: str
    database_bytes: int
    files: int
    file_bytes: int


@dataclass(frozen=True)
class RestoreReport:
    vendor: str
    created_at: str
    files: int
    replaced: int
    left_alone: int


class _HashingReader:
    """Wraps a binary file: what is read through it is counted and hashed (SHA-256)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def default_archive_name(now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"onewindow-backup-{stamp}.tar.gz")


def _storage() -> Storage:
    return storages["default"]


def stored_names(storage: Storage | None = None) -> list[str]:
    """Every file name in the storage, walked with ``listdir`` (sorted)."""
    storage = storage or _storage()
    names: list[str] = []
    pending = [""]
    while pending:
        folder = pending.pop()
        try:
            dirs, files = storage.listdir(folder)
        except FileNotFoundError:
            if folder == "":
                return []  # nothing stored yet (a local storage before the first upload)
            raise
        pending += [posixpath.join(folder, d) for d in dirs]
        names += [posixpath.join(folder, f) for f in files]
    return sorted(names)


def _safe_name(name: object) -> str:
    """A storage name from a manifest: relative, no '..', nothing odd; else the archive is bad."""
    if (
        not isinstance(name, str)
        or not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise BackupError(f"the manifest names an unsafe file {name!r}: refusing the archive")
    return name


# --- the database ----------------------------------------------------------------------------


def _vendor() -> str:
    vendor = connections["default"].vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(f"{vendor} databases are not supported (SQLite and PostgreSQL are)")
    return vendor


def _sqlite_path() -> Path:
    name = str(connections["default"].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise BackupError(f"cannot back up or restore the SQLite database {name!r}")
    return Path(name)


def _sqlite_copy(source: Path, target: Path) -> None:
    """An online copy (safe while the platform runs and writes), in rollback-journal mode so the
    copy is one self-contained file."""
    if not source.exists():
        raise BackupError(f"the database {source} does not exist")
    src = sqlite3.connect(source, timeout=20)  # read only; not mode=ro, which WAL may refuse
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _sqlite_replace(copy: Path, target: Path) -> None:
    """Replace the target database's content with ``copy`` through the backup API: one write
    transaction on the target (all or nothing), and WAL readers stay consistent."""
    connections.close_all()
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=20)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite database {target} was not replaced: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not installed (the PostgreSQL client tools, e.g. Debian's "
            "postgresql-client, of the server's major version or newer)"
        )
    return found


def _pg_connection() -> tuple[list[str], dict[str, str], str]:
    """Connection options for the client tools, their environment, and the database name.
    The password goes in PGPASSWORD, never on the command line (where `ps` shows it)."""
    db = connections["default"].settings_dict
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    options = db.get("OPTIONS") or {}
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        if option in options:
            env[variable] = str(options[option])
    return args, env, str(db["NAME"])


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    # A fixed argument list (no shell); the values come from the configured database URL.
    result = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit {result.returncode}'}")


def _pg_dump(target: Path) -> None:
    args, env, name = _pg_connection()
    _run(
        [
            _pg_binary("pg_dump"),
            "--format=custom",
            "--no-password",
            f"--file={target}",
            *args,
            f"--dbname={name}",
        ],
        env,
        "pg_dump",
    )


def _pg_replace(dump: Path, workdir: Path) -> None:
    """Replace the configured database's schema ``public`` with the dump's.

    Why not ``pg_restore --clean --if-exists`` straight into the database: it drops only the
    objects the dump itself contains, so anything else in the target (a table of a newer
    migration, a leftover) survives beside the restored tables and their django_migrations,
    and a failure half-way leaves a half-restored database. Instead the dump is turned into SQL
    (pg_restore --file, no connection) and run by psql as ONE transaction that first drops and
    recreates schema ``public``: the result is exactly the archived database, and on any error
    PostgreSQL rolls everything back and the target is as it was. --no-owner/--no-privileges:
    the objects belong to the configured user, whatever roles the source server had.
    """
    args, env, name = _pg_connection()
    script = workdir / "restore.sql"
    _run(
        [_pg_binary("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(dump)],
        env,
        "pg_restore",
    )
    connections.close_all()
    env["PGOPTIONS"] = (
        "-c lock_timeout=60s"  # a running platform's open transaction: fail, not hang
    )
    _run(
        [
            _pg_binary("psql"),
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            *args,
            f"--dbname={name}",
            "--command=DROP SCHEMA IF EXISTS public CASCADE",
            "--command=CREATE SCHEMA public",
            f"--file={script}",
        ],
        env,
        "restoring the PostgreSQL database (nothing was changed)",
    )


def _migration_summary() -> dict[str, Any]:
    recorder = MigrationRecorder(connections["default"])
    if not recorder.has_table():
        raise BackupError("the database has no migrations applied: run 'onewindow migrate' first")
    latest: dict[str, str] = {}
    applied = 0
    for app, name in recorder.migration_qs.order_by("id").values_list("app", "name"):
        latest[app] = name
        applied += 1
    return {"applied": applied, "latest": dict(sorted(latest.items()))}


def _key_checks() -> dict[str, Any]:
    """Key check values (密钥校验值) of the field and look-up keys, never the keys themselves:
    HMAC-SM3 of a fixed text under each key, cut to 16 hex digits. Restore compares them with
    the target's keys, so data encrypted under keys the target lacks is not restored blindly."""
    ring = keyring()
    return {
        "field": {
            key_id: hmac_sm3_hex(key, KEY_CHECK_TEXT)[:16] for key_id, key in ring.keys.items()
        },
        "lookup": hmac_sm3_hex(ring.lookup_key, KEY_CHECK_TEXT)[:16],
    }


def _target_tables_with_rows() -> list[str]:
    connection = connections["default"]
    found = []
    with connection.cursor() as cursor:
        # The models' tables only: the FTS5 index of the catalog search (rebuilt from them) and
        # other raw-SQL helpers are not data of their own.
        for table in sorted(connection.introspection.django_table_names(only_existing=True)):
            if table in SEEDED_TABLES:
                continue
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
            if cursor.fetchone():
                found.append(table)
    return found


# --- backup ----------------------------------------------------------------------------------


def _add_file(tar: tarfile.TarFile, name: str, size: int, raw: IO[bytes], mtime: float) -> dict:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = mtime
    reader = _HashingReader(raw)
    tar.addfile(info, reader)  # tarfile only calls read()
    return {"size": reader.size, "sha256": reader.sha256.hexdigest()}


def backup_create(*, output: Path) -> BackupReport:
    """Write the archive to ``output`` (refused if it exists). Written to ``<output>.partial``
    and renamed when complete, so a file under the final name is always a whole backup; mode
    0600, because it holds the platform's data."""
    vendor = _vendor()
    output = output.resolve()
    if output.exists():
        raise BackupError(f"{output} already exists: choose another --output")
    if not output.parent.is_dir():
        raise BackupError(f"{output.parent} is not a directory")
    created = dt.datetime.now(dt.UTC)
    mtime = created.timestamp()
    storage = _storage()
    partial = output.with_name(output.name + ".partial")
    compress = output.name.endswith((".gz", ".tgz"))
    try:
        with tempfile.TemporaryDirectory(prefix="onewindow-backup-") as tmp:
            dump = Path(tmp) / "database"
            if vendor == "sqlite":
                _sqlite_copy(_sqlite_path(), dump)
            else:
                _pg_dump(dump)
            migrations = _migration_summary()
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with (
                os.fdopen(fd, "wb") as out,
                tarfile.open(
                    fileobj=out, mode="w:gz" if compress else "w", format=tarfile.PAX_FORMAT
                ) as tar,
            ):
                with dump.open("rb") as fh:
                    database = _add_file(
                        tar, DATABASE_MEMBERS[vendor], dump.stat().st_size, fh, mtime
                    )
                files = []
                for name in stored_names(storage):
                    with storage.open(name, "rb") as fh:
                        entry = _add_file(tar, MEDIA + name, storage.size(name), fh, mtime)
                    files.append({"name": name, **entry})
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": created.isoformat(),
                    "onewindow_version": onewindow.__version__,
                    "django_version": django.get_version(),
                    "database": {
                        "vendor": vendor,
                        "member": DATABASE_MEMBERS[vendor],
                        **database,
                    },
                    "migrations": migrations,
                    "keys": _key_checks(),
                    "files": {
                        "count": len(files),
                        "bytes": sum(f["size"] for f in files),
                        "members": files,
                    },
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, mtime
                tar.addfile(info, io.BytesIO(body))
        partial.replace(output)
    except OSError as exc:
        raise BackupError(f"the backup was not written: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(
        path=output,
        size=output.stat().st_size,
        vendor=vendor,
        database_bytes=database["size"],
        files=len(files),
        file_bytes=sum(f["size"] for f in files),
    )


# --- restore ---------------------------------------------------------------------------------


def _open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except FileNotFoundError as exc:
        raise BackupError(f"{path} does not exist") from exc
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise BackupError(f"{path} is not a readable backup archive ({first})") from exc


def _member_file(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    fh = tar.extractfile(member) if member.isfile() else None
    if fh is None:
        raise BackupError(f"the archive member {member.name!r} is not a regular file")
    return fh


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members in archive order; damage (truncation, bad compression) -> BackupError."""
    try:
        yield from tar
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"the archive is damaged ({exc}): nothing was changed") from exc


def _verify(path: Path, workdir: Path) -> tuple[dict[str, Any], Path]:
    """Check every member against the manifest; return the manifest and the database copy,
    extracted (and hashed on the way) into ``workdir``."""
    seen: dict[str, dict[str, Any]] = {}
    raw_manifest: bytes | None = None
    database_copy = workdir / "database"
    with _open_archive(path) as tar:
        for member in _members(tar):
            if member.name in seen or (member.name == MANIFEST and raw_manifest is not None):
                raise BackupError(f"the archive holds {member.name!r} twice: refusing it")
            if not member.isfile():
                raise BackupError(f"the archive member {member.name!r} is not a regular file")
            fh = _member_file(tar, member)
            try:
                if member.name == MANIFEST:
                    if member.size > MANIFEST_MAX_BYTES:
                        raise BackupError("the manifest is implausibly large: refusing the archive")
                    raw_manifest = fh.read()
                    continue
                reader = _HashingReader(fh)
                if member.name in DATABASE_MEMBERS.values():
                    with database_copy.open("wb") as out:
                        shutil.copyfileobj(reader, out, CHUNK)
                else:
                    while reader.read(CHUNK):
                        pass
            except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
                raise BackupError(f"the archive is damaged ({exc}): nothing was changed") from exc
            seen[member.name] = {"size": reader.size, "sha256": reader.sha256.hexdigest()}
    if raw_manifest is None:
        raise BackupError("the archive has no manifest.json (incomplete or not a backup)")
    try:
        manifest = json.loads(raw_manifest)
        if manifest.get("format") != FORMAT:
            raise BackupError("manifest.json is not a OneWindow backup manifest")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BackupError(
                f"backup format version {manifest.get('format_version')!r} is not supported "
                f"(this OneWindow reads version {FORMAT_VERSION})"
            )
        database = manifest["database"]
        if database.get("member") != DATABASE_MEMBERS.get(database.get("vendor")):
            raise BackupError("the manifest's database entry is inconsistent")
        expected = {database["member"]: database}
        for entry in manifest["files"]["members"]:
            expected[MEDIA + _safe_name(entry["name"])] = entry
        if manifest["files"]["count"] != len(manifest["files"]["members"]):
            raise BackupError("the manifest's file count does not match its list")
        latest = dict(manifest["migrations"]["latest"])
        field_checks = dict(manifest["keys"]["field"])
        if not isinstance(manifest["keys"]["lookup"], str):
            raise TypeError("keys.lookup")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"manifest.json is malformed ({exc!r})") from exc
    missing = sorted(set(expected) - set(seen))
    if missing:
        raise BackupError(
            f"the archive is incomplete: {len(missing)} member(s) listed in the manifest are "
            f"missing, e.g. {missing[0]!r}; nothing was changed"
        )
    unexpected = sorted(set(seen) - set(expected))
    if unexpected:
        raise BackupError(
            f"the archive holds {len(unexpected)} member(s) the manifest does not list, e.g. "
            f"{unexpected[0]!r}; refusing it"
        )
    for name, entry in expected.items():
        if seen[name]["size"] != entry.get("size") or seen[name]["sha256"] != entry.get("sha256"):
            raise BackupError(
                f"the archive is corrupted: {name!r} does not match its SHA-256 in the "
                "manifest; nothing was changed"
            )
    manifest["migrations"]["latest"] = latest
    manifest["keys"]["field"] = field_checks
    return manifest, database_copy


def _check_target(manifest: dict[str, Any], *, force: bool) -> list[str]:
    """Refuse a vendor mismatch, an archive from a newer OneWindow, a target without the
    archive's keys and (without ``force``) a target that holds data. Returns the names
    already in storage."""
    vendor = _vendor()
    source = manifest["database"]["vendor"]
    if source != vendor:
        raise BackupError(
            f"the archive holds a {VENDOR_NAMES[source]} database but this installation is "
            f"configured for {VENDOR_NAMES[vendor]} (ONEWINDOW_DATABASE_URL); a dump cannot be "
            "restored across database systems"
        )
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    for app, name in manifest["migrations"]["latest"].items():
        if (app, name) not in known:
            raise BackupError(
                f"the archive's database has migration {app}.{name}, which this OneWindow "
                f"({onewindow.__version__}) does not know: restore it with the version that "
                "made it (or newer)"
            )
    here = _key_checks()
    lacking = sorted(
        key_id
        for key_id, check in manifest["keys"]["field"].items()
        if here["field"].get(key_id) != check
    )
    if lacking or manifest["keys"]["lookup"] != here["lookup"]:
        which = f"field key(s) {', '.join(lacking)}" if lacking else "look-up key"
        raise BackupError(
            f"this installation does not hold the {which} of the backed-up one "
            "(ONEWINDOW_FIELD_KEYS / ONEWINDOW_LOOKUP_KEY or var/field_keys, var/lookup_key "
            "differ): its ID numbers, mobiles and TOTP secrets would be unreadable or "
            "unfindable. Configure the backed-up installation's keys, then restore"
        )
    tables = _target_tables_with_rows()
    existing = stored_names()
    if (tables or existing) and not force:
        held = []
        if tables:
            held.append(f"{len(tables)} tables hold rows (e.g. {', '.join(tables[:3])})")
        if existing:
            held.append(f"the storage holds {len(existing)} files")
        raise BackupError(
            f"the target is not empty: {' and '.join(held)}; restore would replace the "
            "database and same-named files. Rerun with --force to replace them"
        )
    return existing


def restore_archive(*, path: Path, force: bool = False) -> RestoreReport:
    """Verify the whole archive, check the target, then replace the database and write every
    file back through the storage API (replacing same-named files; other files stay)."""
    with tempfile.TemporaryDirectory(prefix="onewindow-restore-") as tmp:
        workdir = Path(tmp)
        manifest, database_copy = _verify(path, workdir)
        existing = _check_target(manifest, force=force)
        vendor = manifest["database"]["vendor"]
        if vendor == "sqlite":
            _sqlite_replace(database_copy, _sqlite_path())
        else:
            _pg_replace(database_copy, workdir)
    storage = _storage()
    names = {entry["name"]: entry for entry in manifest["files"]["members"]}
    replaced = 0
    restored = 0
    with _open_archive(path) as tar:
        for member in _members(tar):
            if not member.name.startswith(MEDIA):
                continue
            name = member.name.removeprefix(MEDIA)
            fh = _member_file(tar, member)
            reader = _HashingReader(fh)
            content = File(cast(Any, reader), name=posixpath.basename(name))
            content.size = member.size
            try:
                if storage.exists(name):
                    storage.delete(name)
                    replaced += 1
                saved = storage.save(name, content)
            except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
                raise BackupError(
                    f"the database was restored but writing file {name!r} failed ({exc}); "
                    f"{restored} files were written. Fix the cause and restore again with --force"
                ) from exc
            if saved != name:
                raise BackupError(f"the storage saved {name!r} as {saved!r}; restore again")
            if reader.sha256.hexdigest() != names[name]["sha256"]:
                raise BackupError(f"the archive changed while it was restored ({name!r})")
            restored += 1
    # Cached rows of the old database (department ids, license types, sessions in Redis) must
    # not outlive it. With Redis, delete only this cache's keys: the job queue shares the server.
    delete_pattern = getattr(cache, "delete_pattern", None)
    if delete_pattern is not None:
        delete_pattern("*")
    else:
        cache.clear()
    return RestoreReport(
        vendor=vendor,
        created_at=manifest["created_at"],
        files=restored,
        replaced=replaced,
        left_alone=len(set(existing) - set(names)),
    )
