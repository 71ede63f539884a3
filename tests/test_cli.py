"""The ``onewindow`` command as an operator runs it: fresh home, real subprocesses."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ONEWINDOW = str(Path(sys.executable).with_name("onewindow"))


def run(home: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    clean.update({"ONEWINDOW_HOME": str(home), **env})
    return subprocess.run(
        [ONEWINDOW, *args], env=clean, capture_output=True, text=True, check=check, timeout=120
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli")
    run(home, "migrate", "--verbosity", "0")
    return home


def test_help_lists_every_command():
    out = subprocess.run([ONEWINDOW, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("serve", "worker", "migrate", "demo", "check", "audit", "manage"):
        assert command in out


def test_demo_twice_then_accounts_and_audit_verify(home):
    first = run(home, "demo").stdout
    second = run(home, "demo").stdout
    assert "13 departments" in first
    registry = re.search(r"(\d+) registry persons, (\d+) registry legal entities", first)
    assert registry is not None
    assert int(registry[1]) >= 10_000  # generated residents, the demo citizens among them
    assert int(registry[2]) >= 1_000
    assert first == second
    accounts = json.loads(run(home, "demo", "accounts", "--json").stdout)
    assert accounts[0]["username"] == "sysadmin"
    verify = run(home, "audit", "verify")
    assert "audit chain OK" in verify.stdout
    rotated = run(home, "keys", "rotate").stdout
    assert f"and {registry[1]} population registry entries with the current key" in rotated


def test_audit_verify_fails_and_names_the_row_after_an_edit(tmp_path):
    import sqlite3

    home = tmp_path
    run(home, "migrate", "--verbosity", "0")
    run(home, "demo")
    run(home, "demo")
    db = sqlite3.connect(home / "var" / "onewindow.sqlite3")
    row_id = db.execute("SELECT id FROM audit_auditentry WHERE seq = 1").fetchone()[0]
    db.execute("UPDATE audit_auditentry SET actor = 'mallory' WHERE seq = 1")
    db.commit()
    db.close()
    result = run(home, "audit", "verify", check=False)
    assert result.returncode == 1
    assert f"seq 1 (id {row_id})" in result.stderr


def test_check_runs_django_deploy_checks(home):
    assert run(home, "check").returncode == 0
    strict = run(home, "check", "--fail-level", "WARNING", check=False, ONEWINDOW_DEBUG="true")
    assert strict.returncode == 1
    assert "security.W018" in strict.stderr  # DEBUG must be off in production


def test_serve_refuses_to_start_with_pending_migrations(tmp_path):
    result = run(tmp_path, "serve", "--port", "1", check=False)
    assert result.returncode == 2
    assert "onewindow migrate" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(home: Path, *args: str) -> Iterator[tuple[int, list[str]]]:
    """``onewindow serve`` on a free port until ``/readyz`` answers; then its port and, once
    stopped, its output lines."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    clean["ONEWINDOW_HOME"] = str(home)
    command = [ONEWINDOW, "serve", "--port", str(port), "--workers", "1", *args]
    proc = subprocess.Popen(command, env=clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    assert r.status == 200
                    assert json.loads(r.read())["status"] == "ready"
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        yield port, output
    finally:
        proc.terminate()
        output.extend(proc.communicate(timeout=20)[0].decode().splitlines())


def test_serve_answers_health_and_ready(home):
    with _serving(home) as (port, output):
        reply = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert reply.headers["X-Request-ID"]
        reply.close()
    # One JSON log line per request, carrying its request id.
    lines = [json.loads(line) for line in output if line.startswith("{")]
    requests = [line for line in lines if line.get("message") == "request"]
    assert any(line["path"] == "/readyz" and line["status"] == 200 for line in requests)
    assert all(line["request_id"] for line in requests)


def test_idle_keep_alive_connections_do_not_starve_new_requests(home):
    """Browsers and balancers keep connections open between requests. With two Python threads,
    eight idle keep-alive connections must not stop a ninth client from being answered (granian's
    backpressure counts connections, so it must not be set to the thread count)."""
    with _serving(home, "--threads", "2") as (port, _):
        idle = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(8)]
        try:
            for connection in idle:
                connection.request("GET", "/healthz")
                reply = connection.getresponse()
                reply.read()
                assert reply.status == 200
                assert reply.getheader("connection", "").lower() != "close"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                assert r.status == 200
            for connection in idle:  # and the idle ones are still served
                connection.request("GET", "/healthz")
                reply = connection.getresponse()
                reply.read()
                assert reply.status == 200
        finally:
            for connection in idle:
                connection.close()


def test_worker_starts_with_the_audit_schedule_and_stops_on_sigterm(home):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    clean["ONEWINDOW_HOME"] = str(home)
    proc = subprocess.Popen(
        [ONEWINDOW, "worker"],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = ""
    try:
        deadline = time.monotonic() + 30
        while "audit_chain_check_daily" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output += line
        time.sleep(1)  # let the consumer install its signal handlers
    finally:
        proc.terminate()
        output += proc.communicate(timeout=30)[0]
    assert "audit_chain_check_daily" in output, output  # huey lists the periodic task it runs
    assert all(line.startswith("{") for line in output.splitlines() if line.strip()), output
    assert proc.returncode == 0, output
