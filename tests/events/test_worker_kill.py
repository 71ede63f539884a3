"""Acceptance: a killed worker loses no event, and a restarted one sends none twice.

The real ``onewindow worker`` runs as a subprocess against a database of its own (a file in a
scratch ``ONEWINDOW_HOME`` on SQLite; a dedicated database on PostgreSQL, with the run's Redis
as the job queue when one is configured). 200 events each go to two consumers: notify's (one
notification per recipient) and a slow test consumer that writes one audit row per delivery
and sleeps. The worker is killed with SIGKILL part-way, then started again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from tests.events.slow_consumer import ACTION, CONSUMER

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ONEWINDOW = str(Path(sys.executable).with_name("onewindow"))
EVENTS = 200
CONSUMERS = 2  # notify.in_app and test.slow
KILL_AFTER = 60  # deliveries done (of 400) before the SIGKILL

EMIT = f"""
import django
django.setup()
from django.db import transaction
from onewindow.events.services import emit
from onewindow.identity.models import User

user = User.objects.create_user(username="worker_kill_citizen")
for i in range({EVENTS}):
    with transaction.atomic():
        emit(
            "task.assigned",
            {{"recipients": [user.pk], "number": f"WK-{{i:04d}}", "service_name": "test"}},
            key=f"worker-kill:{{i}}",
        )
"""


@dataclass
class Scratch:
    home: Path
    env: dict[str, str]
    database_url: str = ""
    sqlite_path: Path | None = None
    logs: list[Path] = field(default_factory=list)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.sqlite_path is not None:
            db = sqlite3.connect(self.sqlite_path, timeout=20)
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.database_url) as db:
            return db.execute(sql).fetchall()

    def scalar(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def done(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM events_delivery WHERE status = 'done'"))

    def run(self, *args: str) -> None:
        subprocess.run(args, env=self.env, check=True, capture_output=True, text=True, timeout=120)

    def worker(self) -> subprocess.Popen:
        log = self.home / f"worker-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("w") as out:  # a file, not a pipe: a full pipe would stall the worker
            return subprocess.Popen(
                [ONEWINDOW, "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs)


def _postgres_database(url: str) -> Iterator[str]:
    """A dedicated, empty database on the run's PostgreSQL server, dropped afterwards."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"test_{parts.path.lstrip('/') or 'onewindow'}_worker_kill"
    server = urlunsplit(parts._replace(path="/postgres"))

    def admin(statement: sql.Composed) -> None:
        with psycopg.connect(server, autocommit=True) as db:
            db.execute(statement)

    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    admin(drop)
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin(drop)


@pytest.fixture
def scratch(tmp_path) -> Iterator[Scratch]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    env.update(
        ONEWINDOW_HOME=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tests.events.worker_settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        ONEWINDOW_LOG_LEVEL="WARNING",
        ONEWINDOW_TEST_SLOW_SECONDS="0.03",
    )
    if os.environ.get("ONEWINDOW_REDIS_URL"):
        env["ONEWINDOW_REDIS_URL"] = os.environ["ONEWINDOW_REDIS_URL"]
    url = os.environ.get("ONEWINDOW_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        databases = _postgres_database(url)
        env["ONEWINDOW_DATABASE_URL"] = next(databases)
        yield Scratch(tmp_path, env, database_url=env["ONEWINDOW_DATABASE_URL"])
        databases.close()
    else:
        yield Scratch(tmp_path, env, sqlite_path=tmp_path / "var" / "onewindow.sqlite3")


def _stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def _wait_for(scratch: Scratch, proc: subprocess.Popen, done: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    count = scratch.done()
    while count < done:
        assert proc.poll() is None, f"the worker exited early\n{scratch.log_text()}"
        assert time.monotonic() < deadline, f"only {count} of {done} done\n{scratch.log_text()}"
        time.sleep(0.05)
        count = scratch.done()
    return count


def test_a_killed_worker_loses_no_event_and_a_restarted_one_sends_none_twice(scratch):
    assert (CONSUMER, ACTION) == ("test.slow", "test.slow_consumer")  # as spelled in the SQL
    scratch.run(ONEWINDOW, "migrate", "--verbosity", "0")
    scratch.run(sys.executable, "-c", EMIT)
    total = EVENTS * CONSUMERS
    assert scratch.scalar("SELECT COUNT(*) FROM events_delivery") == total
    assert scratch.done() == 0

    first = scratch.worker()
    try:
        _wait_for(scratch, first, KILL_AFTER, seconds=30)
    finally:
        _stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL

    done_at_kill = scratch.done()
    assert KILL_AFTER <= done_at_kill < total, "the kill came too late to test anything"
    slow_done = scratch.scalar(
        "SELECT COUNT(*) FROM events_delivery WHERE status = 'done' AND consumer = 'test.slow'"
    )
    slow_effects = scratch.scalar(
        "SELECT COUNT(*) FROM audit_auditentry WHERE action = 'test.slow_consumer'"
    )
    assert slow_effects == slow_done  # the handler that was cut off left nothing behind

    second = scratch.worker()
    try:
        _wait_for(scratch, second, total, seconds=60)
    finally:
        _stop(second, signal.SIGTERM)

    events = {
        str(pk)
        for (pk,) in scratch.rows("SELECT id FROM events_outboxevent WHERE name = 'task.assigned'")
    }
    assert len(events) == EVENTS
    slow = dict(
        scratch.rows(
            "SELECT object_id, COUNT(*) FROM audit_auditentry WHERE action = 'test.slow_consumer' "
            "GROUP BY object_id"
        )
    )
    assert set(slow) == events, "an event never reached the slow consumer"
    assert set(slow.values()) == {1}, "an event reached the slow consumer twice"
    notified = dict(
        scratch.rows("SELECT event_id, COUNT(*) FROM notify_notification GROUP BY event_id")
    )
    assert {str(k) for k in notified} == events
    assert set(notified.values()) == {1}
    assert scratch.rows("SELECT DISTINCT status, attempts FROM events_delivery") == [("done", 1)]
    assert scratch.scalar("SELECT COUNT(*) FROM events_outboxevent WHERE delivered_at IS NULL") == 0
