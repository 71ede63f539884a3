"""User journeys for bench/all.py (locust): who uses the platform at a peak, and how.

bench/all.py writes a JSON file and names it in ONEWINDOW_BENCH_JOURNEYS: the demo accounts'
passwords, services to search for and open, the application numbers each citizen owns, a
service to apply for with its answers and material keys, and the machine client's credentials.
Every request is named by what it is (not by its URL), so locust's table has one row per
endpoint. A request that does not get the answer the journey needs is a failure.

* ``Applicant`` (weight 1): logs in, searches, opens the service, drafts an application, uploads
  every material, submits it and reads its status back: the whole online journey (网上办).
* ``Follower`` (weight 4): a citizen checking on earlier applications: their list and the status
  of one of them, plus searches and service pages.
* ``Clerk`` (weight 1): a window clerk working the shared inbox.
* ``Exchange`` (weight 1): another department's system looking people up in the registry.
"""

from __future__ import annotations

import base64
import json
import os
import random
from typing import Any

from locust import HttpUser, between, task

CONFIG: dict[str, Any] = json.loads(
    open(os.environ["ONEWINDOW_BENCH_JOURNEYS"], encoding="utf-8").read()  # noqa: SIM115
)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _json(response: Any) -> dict[str, Any]:
    try:
        value: dict[str, Any] = response.json()
    except ValueError:
        return {}
    return value


class _Person(HttpUser):
    abstract = True
    wait_time = between(0.5, 2)
    username = ""
    password = ""

    def on_start(self) -> None:
        reply = self.client.post(
            "/api/v1/auth/login",
            json={"username": self.username, "password": self.password},
            name="login",
        )
        self.client.headers["Authorization"] = f"Bearer {_json(reply).get('access_token', '')}"
        self.client.headers["Accept"] = "application/json"

    def browse(self) -> None:
        query = random.choice(CONFIG["queries"])  # noqa: S311 - a load pattern, not a secret
        self.client.get("/api/v1/services", params={"q": query}, name="search")
        code = random.choice(CONFIG["services"])  # noqa: S311
        self.client.get(f"/api/v1/services/{code}", name="service detail")


class Applicant(_Person):
    weight = 1
    username = CONFIG["applicant"]["username"]
    password = CONFIG["applicant"]["password"]

    @task
    def apply_online(self) -> None:
        apply = CONFIG["apply"]
        self.client.get("/api/v1/services", params={"q": apply["query"]}, name="search")
        self.client.get(f"/api/v1/services/{apply['service']}", name="service detail")
        with self.client.post(
            "/api/v1/applications",
            json={"service_code": apply["service"], "form_data": apply["answers"]},
            name="draft",
            catch_response=True,
        ) as reply:
            draft = _json(reply).get("id")
            if reply.status_code != 201 or not draft:
                reply.failure(f"{reply.status_code} {reply.text[:200]}")
                return
        for key in apply["materials"]:
            self.client.post(
                f"/api/v1/applications/{draft}/materials",
                data={"material_key": key},
                files={"file": (f"{key}.pdf", PDF + key.encode(), "application/pdf")},
                name="upload material",
            )
        with self.client.post(
            f"/api/v1/applications/{draft}/submit", name="submit", catch_response=True
        ) as reply:
            number = _json(reply).get("number")
            if reply.status_code != 200 or not number:
                reply.failure(f"{reply.status_code} {reply.text[:200]}")
                return
        self.client.get(f"/api/v1/applications/{number}", name="application status")


class Follower(_Person):
    weight = 4
    username = CONFIG["follower"]["username"]
    password = CONFIG["follower"]["password"]

    @task(3)
    def check_status(self) -> None:
        number = random.choice(CONFIG["follower"]["numbers"])  # noqa: S311
        self.client.get(f"/api/v1/applications/{number}", name="application status")

    @task(1)
    def list_mine(self) -> None:
        self.client.get("/api/v1/applications", params={"limit": 20}, name="my applications")

    @task(2)
    def look_around(self) -> None:
        self.browse()


class Clerk(_Person):
    weight = 1
    username = CONFIG["clerk"]["username"]
    password = CONFIG["clerk"]["password"]

    @task
    def inbox(self) -> None:
        self.client.get("/api/v1/tasks", params={"limit": 50}, name="inbox")


class Exchange(HttpUser):
    weight = 1
    wait_time = between(0.2, 1)

    def on_start(self) -> None:
        machine = CONFIG["machine"]
        secret = base64.b64encode(f"{machine['client_id']}:{machine['secret']}".encode()).decode()
        reply = self.client.post(
            "/o/token/",
            data={"grant_type": "client_credentials", "scope": "datahub"},
            headers={"Authorization": f"Basic {secret}"},
            name="machine token",
        )
        self.client.headers.update(
            {
                "Authorization": f"Bearer {_json(reply).get('access_token', '')}",
                "Accept": "application/json",
                "X-Case-Number": machine["case_number"],
                "X-Purpose": machine["purpose"],
            }
        )

    @task
    def lookup(self) -> None:
        path = random.choice(CONFIG["lookups"])  # noqa: S311
        self.client.get(path, name="registry lookup")
