"""Live platforms for tests that need real processes: ``onewindow serve`` (granian) and
``onewindow worker`` (huey) started as a user starts them, each in a scratch home.

Used by the browser journeys (tests/browser/conftest.py) and the scale-out test
(tests/test_scale_out.py). Scratch PostgreSQL databases and Redis databases are derived from the
suite's own, so parallel runs (CI, several checkouts on one machine) never share them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def platform_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without the suite's ``ONEWINDOW_*`` variables, plus a home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    env.update(ONEWINDOW_HOME=str(home), ONEWINDOW_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def onewindow(env: Mapping[str, str], *args: str) -> None:
    """Run one ``onewindow`` command to completion (migrate, demo ...)."""
    subprocess.run(
        [sys.executable, "-m", "onewindow.cli", *args], env=dict(env), check=True, timeout=600
    )


def scratch_postgres(url: str, suffix: str) -> str:
    """A fresh, empty database beside the suite's own: ``{name}_{suffix}``."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{suffix}"
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def neighbour_redis(url: str, below: int) -> str:
    """A Redis database ``below`` numbers under the suite's own (15 -> 14 for 1), emptied: the
    suite clears its cache before every test, which must not log a live platform's users out,
    reset its rate limits or drop its job queue. Each user of this picks its own ``below``."""
    import redis

    parts = urllib.parse.urlsplit(url)
    number = parts.path.lstrip("/") or "0"
    neighbour = urllib.parse.urlunsplit(parts._replace(path=f"/{(int(number) - below) % 16}"))
    redis.Redis.from_url(neighbour).flushdb()
    return neighbour


class Processes:
    """Long-running subprocesses, each in its own session (process group) so that stopping
    one stops its children too (granian's workers); ``stop()`` ends every one of them."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def start(
        self, args: list[str], *, env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        self._logs.append(out)
        process = subprocess.Popen(
            args, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._running.append(process)
        return process

    def serve(
        self, env: Mapping[str, str], *, port: int, log: Path, threads: int | None = None
    ) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "onewindow.cli", "serve", "--port", str(port)]
        command += ["--workers", "1", *(["--threads", str(threads)] if threads else [])]
        return self.start(command, env=env, log=log)

    def worker(self, env: Mapping[str, str], *, log: Path) -> subprocess.Popen[bytes]:
        return self.start([sys.executable, "-m", "onewindow.cli", "worker"], env=env, log=log)

    def stop(self) -> None:
        for process in self._running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self._running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        for out in self._logs:
            out.close()
        self._running.clear()
        self._logs.clear()


@contextlib.contextmanager
def processes() -> Iterator[Processes]:
    group = Processes()
    try:
        yield group
    finally:
        group.stop()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Until ``{url}/readyz`` answers 200; the log in the error when the server dies or hangs."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.3)
