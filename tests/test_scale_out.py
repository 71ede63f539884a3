"""Scale-out mode (issue 10): two app instances on different ports share one PostgreSQL, one
Redis (cache, sessions, rate limits, job queue) and one S3 bucket (moto's server stands in for
the object store), and nothing else.

Each instance has its own ``ONEWINDOW_HOME`` (its own ``var/``): the secrets come from the
environment, identical on both, as docs/operations.md asks; a file written to either home would
be invisible to the other. One ``onewindow worker`` runs beside them. Everything is driven over
HTTP, as a load balancer would spread users: a session made on one works on the other, the
public verification limit counts across both, a material uploaded on one is downloaded from the
other, and 50 concurrent clerks acting on 100 work items through both instances move every item
exactly once (the losers of each race get 409, never 500).

Needs PostgreSQL and Redis: skipped, with the reason printed, in the SQLite run of scripts/test.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests import live
from tests.casework.conftest import FOOD_MATERIALS, PDF, food_answers

from onewindow import demo
from onewindow.kit.masking import mask_id_number
from onewindow.settings import new_rsa_key

ON_POSTGRES = os.environ.get("ONEWINDOW_DATABASE_URL", "").startswith("postgres")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ON_POSTGRES and os.environ.get("ONEWINDOW_REDIS_URL")),
        reason="scale-out needs PostgreSQL and Redis shared by the instances: runs in the "
        "PostgreSQL + Redis phase of scripts/test",
    ),
]

CITIZEN = ("zhangsan", "Demo-Citizen-2026")
CLERKS = (("clerk", "Demo-Staff-2026"), ("clerk2", "Demo-Staff-2026"))
VERIFY_LIMIT = 10  # ONEWINDOW_VERIFY_RATE_PER_MINUTE on both instances
BUCKET = "onewindow-scale-test"
S3_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class Scaled:
    urls: tuple[str, str]  # instance A, instance B
    homes: tuple[Path, Path]
    database_url: str
    s3: Any  # a boto3 client of the shared bucket's endpoint


def _start_moto(running: live.Processes, home: Path) -> str:
    """moto's S3 server on a free port; fails the test (never skips) when it cannot start."""
    port = live.free_port()
    log = home / "moto.log"
    server = running.start(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=live.platform_env(home),
        log=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):  # noqa: S310
                return url
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail("moto's S3 server did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.3)


@pytest.fixture(scope="module")
def scaled() -> Iterator[Scaled]:
    import boto3

    work = Path(tempfile.mkdtemp(prefix="onewindow-scale-"))
    homes = (work / "a", work / "b")
    for home in homes:
        home.mkdir()
    database_url = live.scratch_postgres(os.environ["ONEWINDOW_DATABASE_URL"], "scaleout")
    # Two below the suite's Redis database (the browser journeys' platform uses one below).
    redis_url = live.neighbour_redis(os.environ["ONEWINDOW_REDIS_URL"], 2)
    ports = (live.free_port(), live.free_port())
    urls = (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
    try:
        with live.processes() as running:
            s3_url = _start_moto(running, work)
            s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", **S3_KEYS)
            s3.create_bucket(Bucket=BUCKET)
            shared = {
                # What the instances share: the database, Redis, the bucket ...
                "ONEWINDOW_DATABASE_URL": database_url,
                "ONEWINDOW_REDIS_URL": redis_url,
                "ONEWINDOW_S3_BUCKET": BUCKET,
                "ONEWINDOW_S3_ENDPOINT_URL": s3_url,
                "ONEWINDOW_S3_REGION": "us-east-1",
                "ONEWINDOW_S3_ADDRESSING_STYLE": "path",
                "ONEWINDOW_S3_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
                "ONEWINDOW_S3_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
                # ... and identical secrets and settings, from the environment (a secret store).
                "ONEWINDOW_SECRET_KEY": secrets.token_urlsafe(50),
                "ONEWINDOW_FIELD_KEYS": f"k1:{secrets.token_hex(16)}",
                "ONEWINDOW_LOOKUP_KEY": secrets.token_hex(32),
                "ONEWINDOW_OIDC_RSA_KEY": new_rsa_key(),
                "ONEWINDOW_PUBLIC_URL": urls[0],
                "ONEWINDOW_VERIFY_RATE_PER_MINUTE": str(VERIFY_LIMIT),
            }
            envs = [live.platform_env(home, **shared) for home in homes]
            live.onewindow(envs[0], "migrate", "--verbosity", "0")
            live.onewindow(envs[0], "demo")
            servers = [
                running.serve(env, port=port, log=home / "server.log", threads=4)
                for env, port, home in zip(envs, ports, homes, strict=True)
            ]
            running.worker(envs[1], log=homes[1] / "worker.log")
            for url, server, home in zip(urls, servers, homes, strict=True):
                live.wait_ready(url, server, home / "server.log")
            yield Scaled(urls, homes, database_url, s3)
    finally:
        live.drop_postgres(database_url)
        shutil.rmtree(work, ignore_errors=True)


def _token(url: str, username: str, password: str) -> str:
    reply = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_session_made_on_one_instance_works_on_the_other(scaled):
    a, b = scaled.urls
    with httpx.Client(timeout=30) as browser:  # one cookie jar, as a browser behind a balancer
        page = browser.get(f"{a}/accounts/login/")
        assert page.status_code == 200
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert csrf, page.text[:500]
        done = browser.post(
            f"{a}/accounts/login/",
            data={"login": CITIZEN[0], "password": CITIZEN[1], "csrfmiddlewaretoken": csrf[1]},
        )
        assert done.status_code == 302, done.text[:500]
        assert "sessionid" in browser.cookies
        mine = browser.get(f"{b}/accounts/security/")
        assert mine.status_code == 200, (mine.status_code, mine.headers.get("location"))
        # 张三's own page: the logout link and the masked ID number only he may see.
        assert 'href="/accounts/logout/"' in mine.text
        [zhangsan] = [c for c in demo.CITIZENS if c.username == CITIZEN[0]]
        assert mask_id_number(zhangsan.id_number or "") in mine.text
    # The control: without that session instance B sends a visitor to the login page.
    stranger = httpx.get(f"{b}/accounts/security/", timeout=30)
    assert stranger.status_code == 302
    assert stranger.headers["location"].startswith("/accounts/login/")


def test_rate_limits_are_shared(scaled):
    """The public verification limit is per client IP and minute in the shared Redis: the two
    instances together allow VERIFY_LIMIT, not twice as many."""
    if 60 - time.time() % 60 < 10:  # a fixed one-minute window: start inside one
        time.sleep(60 - time.time() % 60 + 0.5)
    statuses: list[tuple[int, int]] = []
    for n in range(VERIFY_LIMIT + 4):
        url = scaled.urls[n % 2]
        reply = httpx.get(f"{url}/api/v1/licenses/99010020260000001X/verify", timeout=30)
        statuses.append((n % 2, reply.status_code))
        if reply.status_code == 429:
            assert reply.json()["code"] == "RATE_LIMITED"
    assert [s for _, s in statuses[:VERIFY_LIMIT]] == [200] * VERIFY_LIMIT
    # Past the limit, both instances refuse: each had seen only half of the requests.
    assert statuses[VERIFY_LIMIT:] == [(0, 429), (1, 429), (0, 429), (1, 429)]


def _draft(client: httpx.Client, url: str, token: str) -> dict[str, Any]:
    reply = client.post(
        f"{url}/api/v1/applications",
        json={"service_code": "food_business_license", "form_data": food_answers()},
        headers=_bearer(token),
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _upload(client: httpx.Client, url: str, token: str, public_id: str, key: str) -> int:
    reply = client.post(
        f"{url}/api/v1/applications/{public_id}/materials",
        data={"material_key": key},
        files={"file": (f"{key}.pdf", PDF + key.encode(), "application/pdf")},
        headers=_bearer(token),
    )
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def test_a_material_uploaded_on_one_instance_is_read_on_the_other(scaled):
    a, b = scaled.urls
    token = _token(a, *CITIZEN)
    with httpx.Client(timeout=60) as client:
        draft = _draft(client, a, token)
        file_id = _upload(client, a, token, draft["id"], "layout_plan")
        reply = client.get(
            f"{b}/api/v1/applications/{draft['id']}/materials/{file_id}", headers=_bearer(token)
        )
    assert reply.status_code == 200, reply.text
    assert reply.content == PDF + b"layout_plan"
    assert reply.headers["cache-control"] == "private, no-store"
    # It is an object in the shared bucket, private, and in neither instance's home.
    keys = [o["Key"] for o in scaled.s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    [key] = [k for k in keys if k.startswith("materials/") and "layout_plan" in k]
    grants = scaled.s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants)
    for home in scaled.homes:
        assert not (home / "var" / "media").exists() or not any((home / "var" / "media").rglob("*"))


def _submitted(n: int, url_pair: tuple[str, str], token: str) -> str:
    """Application n: drafted and submitted on one instance, its materials uploaded on the
    other. Returns its number."""
    here, there = url_pair if n % 2 == 0 else url_pair[::-1]
    with httpx.Client(timeout=120) as client:
        draft = _draft(client, here, token)
        for key in FOOD_MATERIALS:
            _upload(client, there, token, draft["id"], key)
        reply = client.post(
            f"{here}/api/v1/applications/{draft['id']}/submit", headers=_bearer(token)
        )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["number"])


def test_50_concurrent_clerks_on_100_work_items_move_each_exactly_once(scaled):
    import psycopg

    a, b = scaled.urls
    citizen = _token(a, *CITIZEN)
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda n: _submitted(n, scaled.urls, citizen), range(100)))
    assert len(set(numbers)) == 100

    clerks = [_token(url, *login) for url, login in zip(scaled.urls, CLERKS, strict=True)]
    inbox = httpx.get(
        f"{b}/api/v1/tasks", params={"limit": 200}, headers=_bearer(clerks[0]), timeout=60
    )
    assert inbox.status_code == 200, inbox.text
    items = {
        t["id"]: t["version"]
        for t in inbox.json()["items"]
        if t["case_number"] in set(numbers) and t["step"] == "accept"
    }
    assert len(items) == 100

    # Every item is raced twice: by clerk on instance A and by clerk2 on instance B, with the
    # version both read; 50 threads take the 200 attempts in a random order.
    attempts = [(item, version, side) for item, version in items.items() for side in (0, 1)]
    random.Random(10).shuffle(attempts)  # noqa: S311 - an order, not a secret
    lock = threading.Lock()
    start = threading.Barrier(50)
    outcomes: list[tuple[int, int, str]] = []  # (item, HTTP status, error code)

    def clerk_at_work() -> None:
        start.wait()
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    if not attempts:
                        return
                    item, version, side = attempts.pop()
                reply = client.post(
                    f"{scaled.urls[side]}/api/v1/tasks/{item}/actions",
                    json={"action": "accept", "version": version, "opinion": "材料齐全"},
                    headers=_bearer(clerks[side]),
                )
                code = reply.json().get("code", "") if reply.status_code != 200 else ""
                with lock:
                    outcomes.append((item, reply.status_code, code))

    with ThreadPoolExecutor(50) as pool:
        for future in [pool.submit(clerk_at_work) for _ in range(50)]:
            future.result()

    assert Counter((status, code) for _, status, code in outcomes) == {
        (200, ""): 100,
        (409, "TASK_VERSION_CONFLICT"): 100,
    }
    winners = [item for item, status, _ in outcomes if status == 200]
    assert sorted(winners) == sorted(items)  # each item won exactly once

    # The database agrees: one acceptance per application, each item done at its next version.
    with psycopg.connect(scaled.database_url) as conn:
        accepted = conn.execute(
            "SELECT a.number, count(*) FROM casework_timelineevent e "
            "JOIN casework_application a ON a.id = e.application_id "
            "WHERE e.kind = 'accepted' AND a.number = ANY(%s) GROUP BY a.number",
            [numbers],
        ).fetchall()
        rows = conn.execute(
            "SELECT id, status, version FROM workflow_workitem WHERE id = ANY(%s)", [list(items)]
        ).fetchall()
    assert len(accepted) == 100
    assert {count for _, count in accepted} == {1}
    assert {(i, s, v) for i, s, v in rows} == {(i, "done", v + 1) for i, v in items.items()}
