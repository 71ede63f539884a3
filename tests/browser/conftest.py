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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests import live

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ONEWINDOW_CHROMIUM", "/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"


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
    env = live.platform_env(home)
    if os.environ.get("ONEWINDOW_DATABASE_URL", "").startswith("postgres"):
        env["ONEWINDOW_DATABASE_URL"] = live.scratch_postgres(
            os.environ["ONEWINDOW_DATABASE_URL"], "browser"
        )
    if os.environ.get("ONEWINDOW_REDIS_URL"):
        # The Redis database below the suite's own (15 -> 14): see live.neighbour_redis.
        env["ONEWINDOW_REDIS_URL"] = live.neighbour_redis(os.environ["ONEWINDOW_REDIS_URL"], 1)
    live.onewindow(env, "migrate", "--verbosity", "0")
    live.onewindow(env, "demo")
    port = live.free_port()
    env["ONEWINDOW_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    url = f"http://127.0.0.1:{port}"
    log = home / "server.log"
    try:
        with live.processes() as running:
            server = running.serve(env, port=port, log=log)
            running.worker(env, log=log)
            live.wait_ready(url, server, log)
            yield Platform(url)
    finally:
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
