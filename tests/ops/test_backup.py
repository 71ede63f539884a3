"""``onewindow backup`` and ``onewindow restore`` as an operator runs them, in a scratch
installation: its own home, and on the PostgreSQL run its own database
(``{suite database}_backup``, created and dropped here). Restore replaces the whole database,
so it never runs against the suite's test database.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.live import drop_postgres, scratch_postgres

from onewindow.ops.backup import DATABASE_MEMBERS, MANIFEST

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ONEWINDOW = str(Path(sys.executable).with_name("onewindow"))
SUITE_DATABASE = os.environ.get("ONEWINDOW_DATABASE_URL", "")
ON_POSTGRES = SUITE_DATABASE.startswith("postgres")


@dataclass
class Installation:
    home: Path
    env: dict[str, str]

    def onewindow(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [ONEWINDOW, *args],
            env={**self.env, **env},
            cwd=self.home,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and result.returncode != 0:
            pytest.fail(f"onewindow {' '.join(args)}: exit {result.returncode}\n{result.stderr}")
        return result

    def script(self, action: str) -> str:
        """tests/ops/installation.py inside this installation."""
        return subprocess.run(
            [sys.executable, "-m", "tests.ops.installation", action],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout

    def snapshot(self) -> dict[str, Any]:
        return json.loads(self.script("snapshot"))

    def wipe(self) -> None:
        """Lose everything but the keys in var/: every stored file, and the database itself
        (the SQLite file deleted; the PostgreSQL database dropped and created empty)."""
        self.script("wipe")
        if ON_POSTGRES:
            scratch_postgres(SUITE_DATABASE, "backup")  # dropped and created empty
        else:
            for suffix in ("", "-wal", "-shm"):
                (self.home / "var" / f"onewindow.sqlite3{suffix}").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def installation(tmp_path_factory) -> Iterator[Installation]:
    home = tmp_path_factory.mktemp("backup-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(ONEWINDOW_HOME=str(home), ONEWINDOW_LOG_LEVEL="WARNING")
    if ON_POSTGRES:
        env["ONEWINDOW_DATABASE_URL"] = scratch_postgres(SUITE_DATABASE, "backup")
    # No ONEWINDOW_REDIS_URL: restore clears the platform's cache keys, and the suite's Redis
    # database is the suite's.
    platform = Installation(home, env)
    try:
        platform.onewindow("migrate", "--verbosity", "0")
        platform.script("seed")
        yield platform
    finally:
        if ON_POSTGRES:
            drop_postgres(env["ONEWINDOW_DATABASE_URL"])


@dataclass(frozen=True)
class Backup:
    path: Path
    snapshot: dict[str, Any]


@pytest.fixture(scope="module")
def backup(installation) -> Backup:
    path = installation.home / "nightly.tar.gz"
    out = installation.onewindow("backup", "--output", str(path)).stdout
    assert f"backup written: {path}" in out
    return Backup(path, installation.snapshot())


def rewrite(source: Path, target: Path, change: Callable[[tarfile.TarInfo, bytes], Any]) -> None:
    """Copy an archive member by member; ``change(info, data)`` may return new (info, data),
    or None to drop the member."""
    with tarfile.open(source, "r:*") as old, tarfile.open(target, "w:gz") as new:
        for member in old:
            fh = old.extractfile(member)
            assert fh is not None
            result = change(member, fh.read())
            if result is not None:
                info, data = result
                info.size = len(data)
                new.addfile(info, io.BytesIO(data))


def test_backup_wipe_restore_reproduces_every_application_and_file(installation, backup):
    before = backup.snapshot
    assert len(before["applications"]) == 3
    assert len(before["materials"]) == 9
    assert len(before["files"]) >= 9  # the materials, and the demo's e-license PDFs if any
    with tarfile.open(backup.path) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    vendor = "postgresql" if ON_POSTGRES else "sqlite"
    assert manifest["database"]["vendor"] == vendor
    assert manifest["database"]["member"] == DATABASE_MEMBERS[vendor]
    assert manifest["files"]["count"] == len(before["files"])
    assert {f["name"]: f["sha256"] for f in manifest["files"]["members"]} == {
        name: f["sha256"] for name, f in before["files"].items()
    }
    assert manifest["migrations"]["latest"]["casework"].startswith("0005")
    assert (backup.path.stat().st_mode & 0o777) == 0o600

    installation.wipe()
    installation.onewindow("migrate", "--verbosity", "0")  # a fresh installation, keys kept
    wiped = installation.snapshot()
    assert wiped["applications"] == []
    assert wiped["files"] == {}

    out = installation.onewindow("restore", str(backup.path)).stdout  # empty target: no --force
    assert f"and {len(before['files'])} stored files (0 replaced)" in out

    after = installation.snapshot()
    assert after == before  # every row and every stored file's SHA-256 and SM3
    for material in after["materials"]:
        assert after["files"][material["file"]]["sm3"] == material["sm3"]
    for license_ in after["licenses"]:
        assert after["files"][license_["pdf"]]["sm3"] == license_["pdf_sm3"]
    assert "audit chain OK" in installation.onewindow("audit", "verify").stdout


def test_restore_into_a_target_with_data_needs_force(installation, backup):
    installation.script("apply")  # an application made after the backup
    changed = installation.snapshot()
    assert len(changed["applications"]) == len(backup.snapshot["applications"]) + 1

    refused = installation.onewindow("restore", str(backup.path), check=False)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "the target is not empty" in refused.stderr
    assert "casework_application" in refused.stderr or "tables hold rows" in refused.stderr
    assert "--force" in refused.stderr
    assert installation.snapshot() == changed

    out = installation.onewindow("restore", "--force", str(backup.path)).stdout
    assert f"({len(backup.snapshot['files'])} replaced)" in out
    assert "3 other stored files left as they were" in out  # the later draft's materials
    after = installation.snapshot()
    assert after["applications"] == backup.snapshot["applications"]
    assert after["materials"] == backup.snapshot["materials"]
    assert all(after["files"][name] == f for name, f in backup.snapshot["files"].items())


def _flip_a_byte(info: tarfile.TarInfo, data: bytes) -> Any:
    if info.name.startswith("media/materials/"):
        data = bytes([data[0] ^ 1]) + data[1:]
    return info, data


def _drop_one_file(info: tarfile.TarInfo, data: bytes) -> Any:
    return None if info.name.startswith("media/materials/") and data else (info, data)


def _drop_manifest(info: tarfile.TarInfo, data: bytes) -> Any:
    return None if info.name == MANIFEST else (info, data)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_flip_a_byte, "the archive is corrupted"),
        (_drop_one_file, "the archive is incomplete"),
        (_drop_manifest, "no manifest.json"),
        ("truncate", "damaged"),
        ("garbage", "not a readable backup archive"),
    ],
)
def test_a_damaged_archive_is_refused_and_changes_nothing(installation, backup, damage, reason):
    target = installation.home / "damaged.tar.gz"
    if damage == "truncate":
        target.write_bytes(backup.path.read_bytes()[: backup.path.stat().st_size // 2])
    elif damage == "garbage":
        target.write_bytes(b"not an archive at all" * 100)
    else:
        rewrite(backup.path, target, damage)
    installation.script("apply")  # differ from the backup: a restore would undo this
    before = installation.snapshot()
    result = installation.onewindow("restore", "--force", str(target), check=False)
    assert result.returncode == 1
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert installation.snapshot() == before


def test_a_dump_of_the_other_database_system_is_refused(installation, backup):
    here = "postgresql" if ON_POSTGRES else "sqlite"
    other = "sqlite" if ON_POSTGRES else "postgresql"

    def relabel(info: tarfile.TarInfo, data: bytes) -> Any:
        if info.name == MANIFEST:
            manifest = json.loads(data)
            manifest["database"].update(vendor=other, member=DATABASE_MEMBERS[other])
            data = json.dumps(manifest).encode()
        elif info.name == DATABASE_MEMBERS[here]:
            info.name = DATABASE_MEMBERS[other]
        return info, data

    target = installation.home / "other-vendor.tar.gz"
    rewrite(backup.path, target, relabel)
    installation.script("apply")
    before = installation.snapshot()
    result = installation.onewindow("restore", "--force", str(target), check=False)
    assert result.returncode == 1
    assert "cannot be restored across database systems" in result.stderr
    assert installation.snapshot() == before


def test_a_target_without_the_archives_keys_is_refused(installation, backup):
    installation.script("apply")
    before = installation.snapshot()
    other_key = f"k1:{'ab' * 16}"
    result = installation.onewindow(
        "restore", "--force", str(backup.path), check=False, ONEWINDOW_FIELD_KEYS=other_key
    )
    assert result.returncode == 1
    assert "does not hold the field key(s) k1 of the backed-up one" in result.stderr
    # The backed-up key behind a newer one is enough (a rotation since the backup).
    current = (installation.home / "var" / "field_keys").read_text().strip()
    assert installation.snapshot() == before
    result = installation.onewindow(
        "restore", "--force", str(backup.path), ONEWINDOW_FIELD_KEYS=f"k2:{'cd' * 16},{current}"
    )
    assert installation.snapshot()["applications"] == backup.snapshot["applications"]


def test_backup_never_overwrites_an_existing_file(installation, backup):
    result = installation.onewindow("backup", "--output", str(backup.path), check=False)
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert not list(installation.home.glob("*.partial"))
