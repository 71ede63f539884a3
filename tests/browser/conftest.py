"""A live platform and a real browser for the journey tests (issue 9).

The platform runs as it does for a user: ``onewindow migrate``, ``onewindow demo``, then
``onewindow serve`` (granian) and ``onewindow worker`` (huey) as their own processes, in a
scratch home — on SQLite, or on a scratch PostgreSQL database (and the Redis database next to
the suite's) when the suite runs on PostgreSQL. The browser is Debian's chromium
(``/usr/bin/chromium``, installed by scripts/test), driven by playwright; nothing is downloaded.

Screenshots of each step go to ``test-output/browser/`` (desktop and 375 px mobile width).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ONEWINDOW_CHROMIUM", "/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _onewindow(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "onewindow.cli", *args], env=env, check=True, timeout=600)


def _scratch_postgres(url: str) -> str:
    """A fresh database beside the suite's own: ``{name}_browser``."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/") + "_browser"
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _neighbour_redis(url: str) -> str:
    """The Redis database below the suite's own (15 -> 14): the suite clears its cache before
    every test, which must not log the live platform's users out or drop its job queue."""
    parts = urllib.parse.urlsplit(url)
    number = parts.path.lstrip("/") or "0"
    return urllib.parse.urlunsplit(parts._replace(path=f"/{(int(number) + 15) % 16}"))


@dataclass(frozen=True)
class Platform:
    url: str


# Module scope, not session: the journeys live in one module, and playwright's sync API keeps an
# asyncio loop running in this thread while it is open — later tests that call synchronous
# wrappers of async code (pyHanko's sign/validate) would refuse to run.
@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    if os.environ.get("ONEWINDOW_BROWSER_URL"):  # a development aid: a platform already running
        yield Platform(os.environ["ONEWINDOW_BROWSER_URL"])
        return
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs it (apt-get install chromium)")
    home = Path(tempfile.mkdtemp(prefix="onewindow-browser-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    env.update(ONEWINDOW_HOME=str(home), ONEWINDOW_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    if os.environ.get("ONEWINDOW_DATABASE_URL", "").startswith("postgres"):
        env["ONEWINDOW_DATABASE_URL"] = _scratch_postgres(os.environ["ONEWINDOW_DATABASE_URL"])
    if os.environ.get("ONEWINDOW_REDIS_URL"):
        import redis

        env["ONEWINDOW_REDIS_URL"] = _neighbour_redis(os.environ["ONEWINDOW_REDIS_URL"])
        redis.Redis.from_url(env["ONEWINDOW_REDIS_URL"]).flushdb()
    _onewindow(env, "migrate", "--verbosity", "0")
    _onewindow(env, "demo")
    port = _free_port()
    env["ONEWINDOW_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "onewindow.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "onewindow.cli", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "server.log").read_text(errors="replace"))
            time.sleep(0.3)
        yield Platform(url)
    finally:
        for process in (server, worker):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    if OUTPUT.exists():
        shutil.rmtree(OUTPUT)
    OUTPUT.mkdir(parents=True)
    return OUTPUT
