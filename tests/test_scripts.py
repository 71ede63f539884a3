"""The test command never skips a database silently."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "service_check.py"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


def check(kind: str, url: str, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, str(SCRIPT), kind, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_postgres_fails_loudly_under_ci():
    result = check("postgres", f"postgres://postgres@127.0.0.1:{closed_port()}/x", ci=True)
    assert result.returncode == 1
    assert "PostgreSQL is NOT reachable" in result.stderr
    assert "FAILING" in result.stderr


def test_unreachable_postgres_is_announced_outside_ci():
    result = check("postgres", f"postgres://postgres@127.0.0.1:{closed_port()}/x", ci=False)
    assert result.returncode == 2
    assert "SKIPPED" in result.stderr


def test_unreachable_redis_fails_under_ci():
    result = check("redis", f"redis://127.0.0.1:{closed_port()}/0", ci=True)
    assert result.returncode == 1
    assert "Redis is NOT reachable" in result.stderr
