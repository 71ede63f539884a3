"""Casework benchmark: submissions/s and the staff inbox with 1,000,000 applications in PostgreSQL.

    .venv/bin/python bench/casework.py                       # 1,000,000 applications
    .venv/bin/python bench/casework.py --applications 100000 --keep
    .venv/bin/python bench/casework.py --write               # update docs/performance.md

It creates a scratch PostgreSQL database (default onewindow_bench_casework on 127.0.0.1),
migrates it and seeds the demo city, then bulk-loads N historical applications with their
process instances, work items, timelines, 补正/中止 records and daily serials in SQL
(``INSERT ... SELECT generate_series``). The row shapes come from the platform itself: form
answers are cleaned by the catalog's validator, process states and work items are produced by
running the workflow engine over the demo process definitions, and deadlines and warning dates
are computed with the working-day calendar, exactly as the services do. Then it prepares complete
drafts (one per service through the services, cloned with their material files), serves the
platform with granian (workers = cores, Redis cache), and measures with wrk on 127.0.0.1:

* /healthz, the ceiling of this machine, in the same run;
* the inbox (GET /api/v1/tasks?limit=50) of the gov_services window clerk, who sees every 受理
  and 送达 step of the city, and of the market reviewer, at 16 connections and at one;
* submissions (POST /api/v1/applications/{id}/submit), each request a different draft.

Afterwards it checks in SQL that exactly the successful submissions were numbered, that no
number is duplicated and that the daily serials have no gaps. Every figure is also printed as a
ratio to /healthz. With --write the table replaces the casework section of docs/performance.md.
The database is dropped unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ONEWINDOW = str(VENV_BIN / "onewindow")
INBOX_LUA = ROOT / "bench" / "casework_inbox.lua"
SUBMIT_LUA = ROOT / "bench" / "casework_submit.lua"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/onewindow_bench_casework"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
MARK_START, MARK_END = "<!-- bench:casework -->", "<!-- /bench:casework -->"
DOC_INTRO = """\
`.venv/bin/python bench/casework.py --write` (PostgreSQL on 127.0.0.1:5432 and Redis on 6379
required; `--postgres URL`, `--redis URL`, `--applications N`, `--keep`) creates a scratch
database, seeds the demo city and bulk-loads 1,000,000 historical applications in SQL: spread
over the 60 demo services (skewed towards the high-frequency ones) and so over the 13
departments, submitted over the last two years, numbered 实施编码 + yyyyMMdd + 5-digit daily
serial, about 88 % completed, 7 % not accepted, 4 % open (受理, 审查, 决定, 送达 steps with
open work items, deadlines and warning dates from the working-day calendar, some red and
yellow) and 0.7 % paused (补正 / 中止). Process states and work items come from running the
workflow engine over the demo process definitions. It then prepares complete drafts (through
the services, then cloned with their material files; bundles, 一件事, left out: each starts a
part per department, a heavier action than the submission measured here) and measures, with wrk on 127.0.0.1
against granian (workers = cores) with the Redis cache: /healthz (the ceiling), the inbox
`GET /api/v1/tasks?limit=50` of the gov_services window clerk (who sees every 受理 and 送达
step of the city: the biggest inbox) and of the market reviewer, and submissions
`POST /api/v1/applications/{id}/submit` (validation, numbering, the process start, the
timeline, outbox events and the audit row), each request a different draft. Before each row it
waits for a quiet machine; "other load" is the share of the CPUs used by other processes
during the row, "server" and "PostgreSQL CPU ms/req" are the CPU time of granian's processes
and of the bench database's backends per successful request.

Targets: >= 200 submissions/s; inbox p95 <= 30 ms (read at one connection: with 16
connections on 2 cores the latency is mostly queueing).
"""
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TZ = "Asia/Shanghai"

# Share of each scenario among the historical applications (cumulative thresholds in SQL):
# most are finished, ~6 % are open with open work items, ~1 % are paused (补正 / 中止).
SCENARIOS = [
    ("done_approve", 0.80),
    ("done_reject", 0.06),
    ("not_accepted", 0.07),
    ("submitted", 0.015),
    ("in_review_a", 0.021),
    ("in_review_b", 0.014),
    ("approved", 0.010),
    ("supplement", 0.006),
    ("suspended", 0.004),
]
# Which actions each scenario takes, in order; "review" stands for every review step of the
# process (one in the standard process, two in parallel for food business licences). Steps a
# process does not have are skipped; the application's status follows from the engine.
PATHS: dict[str, list[tuple[str, str]]] = {
    "done_approve": [
        ("accept", "accept"),
        ("review", "pass"),
        ("decide", "approve"),
        ("deliver", "complete"),
    ],
    "done_reject": [
        ("accept", "accept"),
        ("review", "pass"),
        ("decide", "reject"),
        ("deliver", "complete"),
    ],
    "not_accepted": [("accept", "not_accept")],
    "submitted": [],
    "in_review_a": [("accept", "accept")],
    "in_review_b": [("accept", "accept"), ("review", "pass")],
    "approved": [("accept", "accept"), ("review", "pass"), ("decide", "approve")],
    "supplement": [("accept", "accept")],
    "suspended": [("accept", "accept"), ("review", "pass")],
}
PAUSED = {"supplement", "suspended"}
# Submission day, in days before today, per scenario: finished ones over the last two years,
# open ones recent (so that their deadlines land around today: some red, some yellow).
DAY_RANGES = {
    "submitted": (0, 7),
    "in_review_a": (2, 18),
    "in_review_b": (4, 20),
    "approved": (3, 12),
    "supplement": (3, 40),
    "suspended": (3, 40),
}
CLOSED_DAYS = (3, 730)
REASONS = {"reject": "不符合法定条件", "not_accept": "申请事项不属于本机关职权范围"}


# --- helpers ---------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package)...", file=sys.stderr)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
    )
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is required (apt-get install wrk)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Scratch:
    home: Path
    env: dict[str, str]
    name: str  # the database
    pg_version: str
    shared_buffers: str


def scratch_install(prefix: str, postgres: str, redis_url: str, **extra: str) -> Scratch:
    """A fresh home, database and Redis database, migrated and seeded with the demo city; the
    environment (also put into ``os.environ``, for Django here and spawned processes) runs
    the platform on them."""
    import psycopg
    import redis

    home = Path(tempfile.mkdtemp(prefix=f"onewindow-{prefix}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    env.update(
        ONEWINDOW_HOME=str(home),
        ONEWINDOW_LOG_LEVEL="WARNING",
        ONEWINDOW_DATABASE_URL=postgres,
        ONEWINDOW_REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="onewindow.settings",
        **extra,
    )
    name = database_name(postgres)
    with psycopg.connect(admin_url(postgres), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
    redis.Redis.from_url(redis_url).flushdb()
    log(f"== scratch installation in {home}, database {name}")
    run(env, "migrate", "--verbosity", "0")
    run(env, "demo")
    os.environ.update(env)
    return Scratch(home, env, name, pg_version, shared_buffers)


def write_doc_section(start: str, end: str, heading: str, table: str) -> None:
    """Replace the text between the ``start`` and ``end`` markers of docs/performance.md with
    ``table`` (a new ``heading`` section at the end when the markers are not there yet)."""
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text("utf-8")
    section = f"{start}\n{table}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + section + "\n"
    doc.write_text(text, "utf-8")
    log(f"wrote {doc}")


def drop_scratch(postgres: str, redis_url: str, home: Path) -> None:
    """Drop a bench's scratch database, flush its Redis database, remove its home."""
    import psycopg
    import redis

    name = database_name(postgres)
    with psycopg.connect(admin_url(postgres), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    redis.Redis.from_url(redis_url).flushdb()
    shutil.rmtree(home, ignore_errors=True)


def finish(
    lines: list[str], args: Any, marks: tuple[str, str, str], scratch: Scratch, ok: bool
) -> int:
    """The end of every bench: print the table, put it between its ``marks`` (start, end,
    heading) in docs/performance.md with --write, keep (--keep) or drop the scratch
    installation; the exit code says whether the bench's checks held."""
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_doc_section(*marks, table)
    if args.keep:
        log(f"kept {scratch.home} and database {scratch.name}")
    else:
        drop_scratch(args.postgres, args.redis, scratch.home)
    return 0 if ok else 1


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """``onewindow serve`` (granian, ``workers`` processes) on a free port of 127.0.0.1, in its
    own process group, once ``/readyz`` answers: the process and its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [ONEWINDOW, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(base + "/readyz", timeout=2).read()
            return server, base
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    sys.exit("the server did not become ready in 120 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(env: dict[str, str], *args: str) -> None:
    subprocess.run([ONEWINDOW, *args], env=env, check=True)


def admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def wrk(
    binary: str,
    url: str,
    script: Path,
    env: dict[str, str],
    *,
    connections: int,
    seconds: int,
    threads: int | None = None,
) -> dict[str, Any]:
    threads = threads or (1 if connections < 2 else 2)
    out = subprocess.run(
        [
            binary,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    if out.stderr.strip():
        log(out.stderr.strip())
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    result: dict[str, Any] = json.loads(line)
    return result


# --- where the CPU goes ------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a local process (a PostgreSQL backend) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _busy_ticks() -> int:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, CPU ticks used, command line) of every process."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                command = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), command)
    return found


class CpuMeter:
    """CPU used during a measurement by the server (granian and its workers), by the PostgreSQL
    backends of the bench database, by wrk, and by everything else on the machine (other
    people's test runs on a shared box show up there)."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.marker = f" {database} "

    def _split(self) -> tuple[dict[int, int], dict[int, int]]:
        procs = _processes()
        server = {self.server_pid}
        grew = True
        while grew:
            grew = False
            for pid, (parent, _ticks, _command) in procs.items():
                if parent in server and pid not in server:
                    server.add(pid)
                    grew = True
        ours_server = {pid: procs[pid][1] for pid in server if pid in procs}
        ours_pg = {
            pid: ticks
            for pid, (_parent, ticks, command) in procs.items()
            if command.startswith("postgres:") and self.marker in command
        }
        return ours_server, ours_pg

    def start(self) -> None:
        import resource

        self.t0 = time.monotonic()
        self.busy0 = _busy_ticks()
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.server0, self.pg0 = self._split()

    def stop(self, requests: int) -> dict[str, float]:
        import resource

        elapsed = time.monotonic() - self.t0
        busy = _busy_ticks() - self.busy0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        server1, pg1 = self._split()
        server = sum(t - self.server0.get(pid, 0) for pid, t in server1.items())
        pg = sum(t - self.pg0.get(pid, 0) for pid, t in pg1.items())
        wrk_seconds = (children.ru_utime - self.children0.ru_utime) + (
            children.ru_stime - self.children0.ru_stime
        )
        other = busy / CLOCK_TICKS - server / CLOCK_TICKS - pg / CLOCK_TICKS - wrk_seconds
        per = 1000 / CLOCK_TICKS / max(1, requests)
        return {
            "server_cpu_ms": server * per,
            "pg_cpu_ms": pg * per,
            "other_load": max(0.0, other) / (elapsed * (os.cpu_count() or 1)),
        }


def wait_quiet(limit: float = 0.25, patience: int = 900) -> float:
    """Wait (up to ``patience`` s) until the machine is quiet before a measurement: at most
    ``limit`` of the CPUs busy over one second. Returns the last busy share seen."""
    cpus = os.cpu_count() or 1
    share = 1.0
    for waited in range(patience):
        before = _busy_ticks()
        time.sleep(1)
        share = (_busy_ticks() - before) / CLOCK_TICKS / cpus
        if share <= limit:
            break
        if waited % 30 == 0:
            log(f"   waiting for a quiet machine: {share:.0%} of the CPUs busy")
    return share


def login(base: str, username: str, password: str) -> str:
    request = urllib.request.Request(
        base + "/api/v1/auth/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token: str = json.loads(response.read())["access_token"]
    return token


# --- what the platform would write -----------------------------------------------------------


def generic_answers(schema: Any) -> dict[str, Any]:
    """A valid answer for every field of a form (hidden ones are dropped by the validator)."""
    from onewindow import demo

    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    answers: dict[str, Any] = {}
    for field in schema.fields:
        spec = field.spec
        kind = field.type
        if kind in ("text", "file"):
            answers[field.key] = "示范"
        elif kind == "textarea":
            answers[field.key] = "示范市中心区市民大道1号，办理说明。"
        elif kind == "number":
            low, high = spec.get("min"), spec.get("max")
            value = low if low is not None else (1 if high is None or high >= 1 else high)
            answers[field.key] = max(value, 1) if high is None or high >= 1 else value
        elif kind == "date":
            answers[field.key] = "2020-01-01"
        elif kind == "select":
            first = field.options()[0]["value"]
            answers[field.key] = [first] if spec.get("multiple") else first
        elif kind == "id_number":
            answers[field.key] = zhangsan.id_number
        elif kind == "uscc":
            answers[field.key] = demo.ENTERPRISE_USCC
        elif kind == "phone":
            answers[field.key] = "13800000001"
        elif kind == "address":
            answers[field.key] = {"region": "990102", "detail": "市民大道2号"}
    return answers


def food_answers() -> dict[str, Any]:
    """The food business licence as tests/casework does it: catering, so review runs in parallel
    at market supervision and the health commission."""
    from onewindow import demo

    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    return {
        "operator_name": "示范小吃店",
        "uscc": demo.ENTERPRISE_USCC,
        "legal_representative": "张三",
        "business_premises": {"region": "990102", "detail": "市民大道2号"},
        "operator_type": "catering",
        "business_items": ["hot_food"],
        "premises_area": 80,
        "food_safety_manager": "张三",
        "manager_id_number": zhangsan.id_number,
        "contact_phone": "13800000001",
    }


def services_meta() -> list[dict[str, Any]]:
    """Every demo service with its published version, cleaned answers and process definition."""
    from onewindow.casework import services as casework
    from onewindow.catalog.models import HandlingType, ServiceItem
    from onewindow.catalog.schema import parse_schema, validate_answers
    from onewindow.org.selectors import platform_province_prefixes
    from onewindow.workflow import services as workflow

    provinces = platform_province_prefixes()
    rows = []
    for item in (
        ServiceItem.objects.filter(is_active=True)
        .select_related("department")
        .order_by("-high_frequency", "id")
    ):
        version = item.published_version()
        if version is None:
            continue
        schema, _problems = parse_schema(version.form_schema)
        raw = food_answers() if item.key == "food_business_license" else generic_answers(schema)
        cleaned, errors = validate_answers(schema, raw, extra_provinces=provinces)
        definition = workflow.definition_latest(item.key) or workflow.definition_latest(
            "instant" if version.handling_type == HandlingType.INSTANT else "standard"
        )
        if definition is None:
            continue
        rows.append(
            {
                "svc": len(rows) + 1,
                "item": item,
                "version": version,
                "answers": casework._jsonable(cleaned),
                "raw": raw,
                "valid": not errors,
                "definition": definition,
                "instant": version.handling_type == HandlingType.INSTANT,
            }
        )
    return rows


def scenario_templates(meta: dict[str, Any], staff: dict[tuple[int, str], int]) -> list[dict]:
    """Run the workflow engine through each scenario for one service: the process state, the
    work items (as workflow.services writes them) and the application's status."""
    from onewindow.org.models import Department
    from onewindow.workflow import engine
    from onewindow.workflow import services as workflow

    definition = workflow.parsed_definition(meta["definition"])
    owner = meta["item"].department_id
    departments = dict(Department.objects.values_list("code", "id"))
    variables = meta["answers"]
    fixed = {"accept", "decide", "deliver"}

    def walk(path: list[tuple[str, str]]) -> tuple[Any, dict[str, dict[str, Any]], list]:
        items: dict[str, dict[str, Any]] = {}
        acts: list[str | None] = []

        def record(effects: list[Any], k: int) -> None:
            for effect in effects:
                if isinstance(effect, engine.TaskActivated):
                    step = definition.step(effect.step)
                    code = step.department or "owner"
                    department = owner if code == "owner" else departments[code]
                    items[effect.token] = {
                        "token": effect.token,
                        "step": step.id,
                        "step_name": step.name or step.id,
                        "department_id": department,
                        "role": step.role or "",
                        "actions": [
                            {"name": a.name, "label": a.label or a.name, "opinion": a.opinion}
                            for a in step.actions.values()
                        ],
                        "lifecycle": sorted(step.lifecycle),
                        "limit_days": step.time_limit,
                        "status": "open",
                        "action": "",
                        "created_k": k,
                        "completed_k": None,
                        "staff_id": staff.get((department, step.role or "")),
                        "supplement_target": False,
                    }
                elif isinstance(effect, engine.TaskCompleted):
                    items[effect.token].update(status="done", action=effect.action, completed_k=k)
                elif isinstance(effect, engine.TaskCancelled):
                    items[effect.token].update(status="cancelled", completed_k=k)

        state, effects = engine.start(definition, variables)
        record(effects, 0)
        for wanted, action in path:
            for token_id, step_id in list(state.active_tokens):
                if step_id == wanted or (wanted == "review" and step_id not in fixed):
                    state, effects = engine.act(definition, state, token_id, action, variables)
                    acts.append(
                        next(e.effect for e in effects if isinstance(e, engine.TaskCompleted))
                    )
                    record(effects, len(acts))
        return state, items, acts

    out = []
    for scenario, path in PATHS.items():
        pause_with = None
        target = None
        if scenario in PAUSED:
            # 补正 or 中止 where the open step offers it: the scenario's own step, else an earlier
            # one, else the other lifecycle action (an instant service only offers 补正 at 受理).
            wanted = "supplement" if scenario == "supplement" else "suspend"
            tries = [(wanted, path[:n]) for n in range(len(path), -1, -1)]
            tries += [("supplement", path[:n]) for n in range(len(path), -1, -1)]
            for lifecycle, prefix in tries:
                state, items, acts = walk(prefix)
                target = next(
                    (
                        i
                        for i in items.values()
                        if i["status"] == "open" and lifecycle in i["lifecycle"]
                    ),
                    None,
                )
                if target is not None:
                    pause_with = lifecycle
                    break
        else:
            state, items, acts = walk(path)
        effect_names = [e for e in acts if e]
        accept_k = acts.index("accept") + 1 if "accept" in acts else None
        decided = [i + 1 for i, e in enumerate(acts) if e in ("approve", "reject", "not_accept")]
        if state.finished:
            status = "not_accepted" if "not_accept" in effect_names else "completed"
        elif pause_with is not None:
            status = "supplement" if pause_with == "supplement" else "suspended"
        elif "approve" in effect_names or "reject" in effect_names:
            status = "approved" if "approve" in effect_names else "rejected"
        elif accept_k is not None:
            status = "in_review"
        else:
            status = "submitted"
        paused = pause_with is not None
        if paused and target is not None:
            for item in items.values():
                if item["status"] == "open":
                    item["status"] = "paused"
            target["supplement_target"] = pause_with == "supplement"
        reason = next((REASONS[e] for e in effect_names if e in REASONS), "")
        for item in items.values():
            item["opinion"] = REASONS.get(item["action"], "")
        out.append(
            {
                "scenario": scenario,
                "app_status": status,
                "resume_status": ("in_review" if accept_k else "submitted") if paused else "",
                "inst_status": "finished"
                if state.finished
                else ("paused" if paused else "running"),
                "state": state.to_json(),
                "k_total": len(acts) if state.finished else len(acts) + 1,
                "accept_k": accept_k,
                "decide_k": decided[0] if decided else None,
                "acts": len(acts),
                "finished": state.finished,
                "paused": paused,
                "outcome_reason": reason,
                "pause_staff": target["staff_id"] if paused and target else None,
                "items": list(items.values()),
            }
        )
    return out


def calendar_tables(today: dt.date, limits: set[int]) -> tuple[list, list, list]:
    """Deadlines, yellow-light dates and a running count of working days over the loaded range,
    computed with the platform's own functions (workflow.calendar.deadline,
    workflow.services.warn_date, the DatabaseCalendar)."""
    from onewindow.workflow import calendar
    from onewindow.workflow.services import warn_date

    years: dict[int, Any] = {}
    original = calendar.DatabaseCalendar.year_data

    def year_data(self: Any, year: int) -> Any:  # one read per year for the whole table
        if year not in years:
            years[year] = original(self, year)
        return years[year]

    calendar.DatabaseCalendar.year_data = year_data  # type: ignore[method-assign]
    try:
        first = today - dt.timedelta(days=CLOSED_DAYS[1] + 40)
        last = today + dt.timedelta(days=90)
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        deadlines = []
        for day in days:
            for n in sorted(limits):
                d = calendar.deadline(day, n)
                deadlines.append((day, n, d.due_date, d.provisional))
        dues = {row[2] for row in deadlines}
        warns = [
            (due, -1 if limit is None else limit, warn_date(due, limit))
            for due in dues
            for limit in [None, *sorted(limits)]
        ]
        cal = calendar.DatabaseCalendar()
        running, counted = [], 0
        for i in range((max(dues) - first).days + 1):
            day = first + dt.timedelta(days=i)
            workday = cal.year_data(day.year).is_workday(day)
            counted += workday
            running.append((day, counted, workday))
    finally:
        calendar.DatabaseCalendar.year_data = original  # type: ignore[method-assign]
    return deadlines, warns, running


# --- the bulk load ---------------------------------------------------------------------------

LOAD_TABLES = [
    "casework_application",
    "workflow_processinstance",
    "workflow_workitem",
    "casework_timelineevent",
]


def bulk_load(url: str, count: int, today: dt.date) -> dict[str, Any]:
    """Load ``count`` historical applications with SQL; returns timings and counts."""
    import psycopg
    from django.contrib.auth import get_user_model

    from onewindow import demo
    from onewindow.identity.models import Enterprise
    from onewindow.org.models import Department

    started = time.monotonic()
    User = get_user_model()
    staff: dict[tuple[int, str], int] = {}
    for user_id, department_id, role in (
        User.objects.filter(kind="staff", staff__isnull=False)
        .values_list("id", "staff__department_id", "roles__role")
        .order_by("id")
    ):
        staff.setdefault((department_id, role), user_id)
    citizens = dict(
        User.objects.filter(username__in=[a.username for a in demo.CITIZENS]).values_list(
            "username", "id"
        )
    )
    enterprise = Enterprise.objects.get(uscc=demo.ENTERPRISE_USCC).pk
    gov = Department.objects.get(code="gov_services")
    clerk = User.objects.get(username="clerk").pk
    metas = services_meta()
    templates = []
    limits: set[int] = {0}
    for meta in metas:
        limits.add(meta["version"].promised_limit_days)
        for template in scenario_templates(meta, staff):
            templates.append((meta["svc"], template))
            limits.update(i["limit_days"] for i in template["items"] if i["limit_days"] is not None)
    deadlines, warns, running = calendar_tables(today, limits)
    prepared = time.monotonic() - started
    log(f"   {len(metas)} services, {len(templates)} scenario templates ({prepared:.1f} s)")

    timings: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        cur = conn.cursor()

        def step(label: str, *statements: str, params: Any = None) -> None:
            t0 = time.monotonic()
            for sql in statements:
                cur.execute(sql, params if "%(" in sql else None)
            conn.commit()
            timings[label] = time.monotonic() - t0
            log(f"   {label}: {timings[label]:.1f} s")

        cur.execute("SET session_replication_role = replica")  # FKs hold by construction
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET max_parallel_workers_per_gather = 0")  # setseed: one random() stream
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute(
            """
            DROP TABLE IF EXISTS bench_service, bench_scn, bench_scn_item, bench_deadline,
                bench_warn, bench_day, bench_plan, bench_app;
            CREATE UNLOGGED TABLE bench_service (
                svc int PRIMARY KEY, item_id bigint, version_id bigint, name text,
                department_id bigint, impl_code text, definition_id bigint, process_key text,
                form_data jsonb, limit_days int, individual bool, organisation bool,
                instant bool, material_key text, material_name text);
            CREATE UNLOGGED TABLE bench_scn (
                svc int, scenario text, app_status text, resume_status text, inst_status text,
                state jsonb, k_total int, accept_k int, decide_k int, acts int,
                finished bool, paused bool, outcome_reason text, pause_staff bigint,
                PRIMARY KEY (svc, scenario));
            CREATE UNLOGGED TABLE bench_scn_item (
                svc int, scenario text, token text, step text, step_name text,
                department_id bigint, role text, actions jsonb, lifecycle jsonb, limit_days int,
                status text, action text, opinion text, created_k int, completed_k int,
                staff_id bigint, supplement_target bool);
            CREATE UNLOGGED TABLE bench_deadline (
                d date, n int, due date, provisional bool, PRIMARY KEY (d, n));
            CREATE UNLOGGED TABLE bench_warn (due date, lim int, warn date, PRIMARY KEY (due, lim));
            CREATE UNLOGGED TABLE bench_day (d date PRIMARY KEY, idx int, workday bool);
            """
        )
        for meta in metas:
            version, item = meta["version"], meta["item"]
            first_material = version.materials.order_by("order", "id").first()
            cur.execute(
                "INSERT INTO bench_service VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    meta["svc"],
                    item.pk,
                    version.pk,
                    item.name,
                    item.department_id,
                    item.implementation_code,
                    meta["definition"].pk,
                    f"{meta['definition'].key}@{meta['definition'].version}",
                    json.dumps(meta["answers"], ensure_ascii=False),
                    version.promised_limit_days,
                    item.serves_individuals,
                    item.serves_organisations,
                    meta["instant"],
                    first_material.key if first_material else "",
                    first_material.name if first_material else "",
                ),
            )
        for svc, t in templates:
            cur.execute(
                "INSERT INTO bench_scn VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    svc,
                    t["scenario"],
                    t["app_status"],
                    t["resume_status"],
                    t["inst_status"],
                    json.dumps(t["state"]),
                    t["k_total"],
                    t["accept_k"],
                    t["decide_k"],
                    t["acts"],
                    t["finished"],
                    t["paused"],
                    t["outcome_reason"],
                    t["pause_staff"] or clerk,
                ),
            )
            for i in t["items"]:
                cur.execute(
                    "INSERT INTO bench_scn_item VALUES "
                    "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (
                        svc,
                        t["scenario"],
                        i["token"],
                        i["step"],
                        i["step_name"],
                        i["department_id"],
                        i["role"],
                        json.dumps(i["actions"], ensure_ascii=False),
                        json.dumps(i["lifecycle"]),
                        i["limit_days"],
                        i["status"],
                        i["action"],
                        i["opinion"],
                        i["created_k"],
                        i["completed_k"],
                        i["staff_id"] or clerk,
                        i.get("supplement_target", False),
                    ),
                )
        with cur.copy("COPY bench_deadline (d, n, due, provisional) FROM STDIN") as copy:
            for row in deadlines:
                copy.write_row(row)
        with cur.copy("COPY bench_warn (due, lim, warn) FROM STDIN") as copy:
            for row in warns:
                copy.write_row(row)
        with cur.copy("COPY bench_day (d, idx, workday) FROM STDIN") as copy:
            for row in running:
                copy.write_row(row)
        conn.commit()

        # Indexes that back no constraint are dropped during the load and rebuilt from their
        # own definitions afterwards (unique constraints stay: they check the numbers).
        cur.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = ANY(%s) AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            (LOAD_TABLES,),
        )
        indexes = cur.fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        conn.commit()

        cases = " ".join(
            f"WHEN r2 < {sum(share for _, share in SCENARIOS[: i + 1]):.6f} THEN '{name}'"
            for i, (name, _share) in enumerate(SCENARIOS[:-1])
        )
        day_cases = " ".join(
            f"WHEN '{name}' THEN {low} + floor(r6 * {high - low + 1})"
            for name, (low, high) in DAY_RANGES.items()
        )
        closed_low, closed_high = CLOSED_DAYS
        step(
            "plan",
            "SELECT setseed(0.20261121)",
            f"""
            CREATE UNLOGGED TABLE bench_plan AS
            WITH r AS (
                SELECT n, random() r1, random() r2, random() r3, random() r4, random() r5,
                       random() r6, random() r7
                FROM generate_series(1, %(count)s) n
            ), c AS (
                SELECT r.*, least(%(services)s,
                           1 + floor(%(services)s * power(r1, 1.6)))::int AS svc,
                       CASE {cases} ELSE '{SCENARIOS[-1][0]}' END AS cat
                FROM r
            ), s AS (
                SELECT c.n, c.svc, c.r4, c.r5, c.r6, c.r7,
                       CASE WHEN s.instant AND c.cat NOT IN ('done_approve', 'done_reject',
                            'not_accepted') AND c.r3 < 0.8 THEN 'done_approve' ELSE c.cat END
                           AS scenario
                FROM c JOIN bench_service s USING (svc)
            )
            SELECT s.*, %(today)s::date - (CASE
                   WHEN b.instant AND scenario NOT IN ('done_approve', 'done_reject',
                        'not_accepted') THEN floor(r6 * 2)
                   ELSE CASE scenario {day_cases}
                   ELSE {closed_low} + floor(r6 * {closed_high - closed_low + 1}) END END)::int AS day
            FROM s JOIN bench_service b USING (svc)
            """,
            params={"count": count, "services": len(metas), "today": today},
        )
        step(
            "plan: times, numbers, deadlines",
            f"""
            CREATE UNLOGGED TABLE bench_app AS
            WITH t AS (
                SELECT p.*, s.impl_code, s.limit_days, s.individual, s.organisation,
                       c.k_total, c.accept_k, c.decide_k, c.finished, c.paused, c.app_status,
                       least(((p.day + time '08:30') + p.r4 * interval '9 hours')
                             AT TIME ZONE '{TZ}', now() - interval '10 minutes') AS submitted_at
                FROM bench_plan p JOIN bench_service s USING (svc)
                JOIN bench_scn c ON c.svc = p.svc AND c.scenario = p.scenario
            ), e AS (
                SELECT t.*,
                       CASE WHEN NOT t.finished THEN now() - interval '5 minutes'
                            WHEN t.app_status = 'not_accepted'
                                THEN t.submitted_at + (0.1 + t.r5 * 2) * interval '1 day'
                            ELSE least(t.submitted_at + (0.5 + t.r5 * (t.limit_days * 1.4 + 4))
                                       * interval '1 day', now() - interval '1 hour')
                       END AS end_at,
                       row_number() OVER (PARTITION BY t.svc, t.day
                                          ORDER BY t.submitted_at, t.n) AS serial
                FROM t
            ), a AS (
                SELECT e.*,
                       e.impl_code || to_char(e.day, 'YYYYMMDD') || lpad(e.serial::text, 5, '0')
                           AS number,
                       e.submitted_at + (e.end_at - e.submitted_at)
                           * (e.accept_k::float8 / e.k_total) AS accepted_at,
                       e.submitted_at + (e.end_at - e.submitted_at)
                           * (e.decide_k::float8 / e.k_total) AS decided_at,
                       e.submitted_at + (e.end_at - e.submitted_at)
                           * ((e.k_total - 0.5) / e.k_total) AS paused_at
                FROM e
            )
            SELECT a.*, (a.accepted_at AT TIME ZONE '{TZ}')::date AS accepted_on,
                   (a.paused_at AT TIME ZONE '{TZ}')::date AS paused_on,
                   dl.due AS case_due, coalesce(dl.provisional, false) AS case_provisional
            FROM a LEFT JOIN bench_deadline dl
                ON dl.d = (a.accepted_at AT TIME ZONE '{TZ}')::date AND dl.n = a.limit_days
            """,
            "ALTER TABLE bench_app ADD PRIMARY KEY (n)",
        )
        step(
            "applications",
            """
            INSERT INTO casework_application (
                id, ref, number, service_item_id, service_version_id, service_name,
                department_id, applicant_id, enterprise_id, filed_by_id, channel, form_data,
                status, version, process_key, created_at, updated_at, submitted_at,
                accepted_at, accepted_on, decided_at, completed_at, limit_days,
                extension_days, due_date, provisional, paused_on, remaining_days,
                resume_status, outcome_reason, prefilled, registry_checks)
            SELECT a.n, gen_random_uuid(), a.number, s.item_id, s.version_id, s.name,
                   s.department_id,
                   CASE WHEN o.org THEN %(lisi)s
                        ELSE (ARRAY[%(zhangsan)s, %(lisi)s, %(wangwu)s])[1 + (a.n %% 3)] END,
                   CASE WHEN o.org THEN %(enterprise)s END,
                   CASE WHEN a.r7 < 0.1 THEN %(clerk)s END,
                   CASE WHEN a.r7 < 0.1 THEN 'counter' ELSE 'online' END,
                   s.form_data, c.app_status, 5 + c.acts + (c.paused::int), s.process_key,
                   a.submitted_at - (5 + a.r4 * 120) * interval '1 minute', a.end_at,
                   a.submitted_at, a.accepted_at, a.accepted_on, a.decided_at,
                   CASE WHEN c.app_status = 'completed' THEN a.end_at END,
                   CASE WHEN a.accept_k IS NOT NULL THEN a.limit_days END, 0,
                   CASE WHEN NOT c.paused THEN a.case_due END, a.case_provisional,
                   CASE WHEN c.paused THEN a.paused_on END,
                   CASE WHEN c.paused AND a.case_due IS NOT NULL
                        THEN due_day.idx - paused_day.idx END,
                   c.resume_status, c.outcome_reason, '[]'::jsonb, '[]'::jsonb
            FROM bench_app a
            JOIN bench_service s USING (svc)
            JOIN bench_scn c ON c.svc = a.svc AND c.scenario = a.scenario
            CROSS JOIN LATERAL (SELECT NOT s.individual
                                       OR (s.organisation AND a.r7 > 0.7) AS org) o
            LEFT JOIN bench_day due_day ON due_day.d = a.case_due
            LEFT JOIN bench_day paused_day ON paused_day.d = a.paused_on
            """,
            params={
                "zhangsan": citizens["zhangsan"],
                "lisi": citizens["lisi"],
                "wangwu": citizens["wangwu"],
                "enterprise": enterprise,
                "clerk": clerk,
            },
        )
        step(
            "process instances",
            """
            INSERT INTO workflow_processinstance (
                id, definition_id, case_number, owner_department_id, state, status, version,
                started_at, finished_at)
            SELECT a.n, s.definition_id, a.number, s.department_id, c.state, c.inst_status,
                   1 + c.acts + (c.paused::int), a.submitted_at,
                   CASE WHEN c.finished THEN a.end_at END
            FROM bench_app a JOIN bench_service s USING (svc)
            JOIN bench_scn c ON c.svc = a.svc AND c.scenario = a.scenario
            """,
        )
        step(
            "work items",
            f"""
            INSERT INTO workflow_workitem (
                instance_id, kind, token, step, step_name, case_number, service_name,
                department_id, role, assignee_id, status, actions, lifecycle, limit_days,
                due_at, warn_at, remaining_days, provisional, escalated_at, version,
                created_at, completed_at, completed_by_id, action, opinion, detail)
            SELECT a.n, 'step', i.token, i.step, i.step_name, a.number, s.name,
                   i.department_id, i.role,
                   CASE WHEN i.status = 'done' OR a.r7 > 0.7 THEN i.staff_id END,
                   i.status, i.actions, i.lifecycle, i.limit_days,
                   x.due, w.warn,
                   CASE WHEN i.status = 'paused' AND x.due IS NOT NULL
                        THEN due_day.idx - paused_day.idx END,
                   x.provisional,
                   CASE WHEN i.status = 'open' AND x.due < %(today)s::date
                        THEN ((x.due + 1) + time '09:00') AT TIME ZONE '{TZ}' END,
                   CASE WHEN i.status = 'open' THEN 1 + (a.r7 > 0.7)::int ELSE 2 END,
                   t.created_at,
                   CASE WHEN i.completed_k IS NOT NULL THEN a.submitted_at
                        + (a.end_at - a.submitted_at) * (i.completed_k::float8 / a.k_total) END,
                   CASE WHEN i.status = 'done' THEN i.staff_id END,
                   i.action, i.opinion,
                   CASE WHEN i.supplement_target
                        THEN jsonb_build_object('supplement_requested', a.paused_on::text)
                        ELSE '{{}}'::jsonb END
            FROM bench_app a JOIN bench_service s USING (svc)
            JOIN bench_scn_item i ON i.svc = a.svc AND i.scenario = a.scenario
            CROSS JOIN LATERAL (
                SELECT a.submitted_at + (a.end_at - a.submitted_at)
                       * (i.created_k::float8 / a.k_total) AS created_at) t
            LEFT JOIN bench_deadline own
                ON own.d = (t.created_at AT TIME ZONE '{TZ}')::date AND own.n = i.limit_days
            CROSS JOIN LATERAL (
                SELECT CASE WHEN a.accept_k IS NULL OR i.created_k < a.accept_k
                                 OR a.case_due IS NULL THEN own.due
                            WHEN own.due IS NULL THEN a.case_due
                            ELSE least(own.due, a.case_due) END AS due,
                       coalesce(own.provisional, false) AS provisional) x
            LEFT JOIN bench_warn w ON w.due = x.due AND w.lim = coalesce(i.limit_days, -1)
            LEFT JOIN bench_day due_day ON due_day.d = x.due
            LEFT JOIN bench_day paused_day ON paused_day.d = a.paused_on
            """,
            params={"today": today},
        )
        step(
            "timeline",
            """
            INSERT INTO casework_timelineevent (
                application_id, at, kind, step_name, department_name, actor_role, opinion,
                opinion_public, detail)
            SELECT a.n, v.at, v.kind, v.step_name, v.department_name, v.actor_role, v.opinion,
                   v.public, v.detail
            FROM bench_app a JOIN bench_scn c ON c.svc = a.svc AND c.scenario = a.scenario
            CROSS JOIN LATERAL (VALUES
                ('created', a.submitted_at - interval '5 minutes', '', '', '', '', false,
                 jsonb_build_object('counter', a.r7 < 0.1)),
                ('submitted', a.submitted_at, '', '', '', '', false,
                 jsonb_build_object('counter', a.r7 < 0.1)),
                ('accepted', a.accepted_at, '受理', %(gov)s, 'window_clerk', '', false,
                 jsonb_build_object('due_date', a.case_due::text)),
                (CASE WHEN c.app_status = 'supplement' THEN 'supplement_requested'
                      ELSE c.app_status END,
                 CASE WHEN c.app_status = 'not_accepted' THEN a.decided_at
                      WHEN c.app_status = 'completed' THEN a.end_at
                      WHEN c.paused THEN a.paused_at END,
                 '', '', '', c.outcome_reason, c.outcome_reason <> '' OR c.paused,
                 '{}'::jsonb)
            ) v(kind, at, step_name, department_name, actor_role, opinion, public, detail)
            WHERE v.at IS NOT NULL
            """,
            params={"gov": gov.name},
        )
        step(
            "supplements, suspensions, daily serials",
            """
            INSERT INTO casework_supplement (application_id, items, requested_at,
                                             requested_by_id)
            SELECT a.n, jsonb_build_array(jsonb_build_object(
                       'kind', 'material', 'key', s.material_key, 'name', s.material_name,
                       'reason', '材料内容不清晰，请重新上传')),
                   a.paused_at, c.pause_staff
            FROM bench_app a JOIN bench_service s USING (svc)
            JOIN bench_scn c ON c.svc = a.svc AND c.scenario = a.scenario
            WHERE c.app_status = 'supplement'
            """,
            """
            INSERT INTO casework_suspension (application_id, reason, note, started_on,
                                             started_by_id)
            SELECT a.n, 'expert_review', '需组织专家评审', a.paused_on, c.pause_staff
            FROM bench_app a JOIN bench_scn c ON c.svc = a.svc AND c.scenario = a.scenario
            WHERE c.app_status = 'suspended'
            """,
            """
            INSERT INTO casework_dailyserial (prefix, day, last)
            SELECT impl_code, day, max(serial) FROM bench_app GROUP BY impl_code, day
            """,
        )
        t0 = time.monotonic()
        for _name, definition in indexes:
            cur.execute(definition)
            conn.commit()
        timings["indexes"] = time.monotonic() - t0
        log(f"   indexes rebuilt: {timings['indexes']:.1f} s")
        for table in [
            *LOAD_TABLES,
            "casework_supplement",
            "casework_suspension",
            "casework_dailyserial",
        ]:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        cur.execute(
            "DROP TABLE bench_service, bench_scn, bench_scn_item, bench_deadline, bench_warn, "
            "bench_day, bench_plan, bench_app"
        )
        conn.commit()
        cur.execute(
            "SELECT (SELECT count(*) FROM casework_application), "
            "(SELECT count(*) FROM workflow_processinstance), "
            "(SELECT count(*) FROM workflow_workitem), "
            "(SELECT count(*) FROM casework_timelineevent)"
        )
        apps, instances, items, events = cur.fetchone()  # type: ignore[misc]
        cur.execute("SELECT status, count(*) FROM casework_application GROUP BY 1 ORDER BY 2 DESC")
        statuses = dict(cur.fetchall())
    elapsed = time.monotonic() - started
    return {
        "seconds": elapsed,
        "timings": timings,
        "applications": apps,
        "instances": instances,
        "work_items": items,
        "timeline": events,
        "statuses": statuses,
    }


def vacuum_analyze(url: str) -> float:
    import psycopg

    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return time.monotonic() - t0


# --- drafts ----------------------------------------------------------------------------------


def prepare_drafts(pools: dict[str, tuple[str, int]]) -> dict[str, list[str]]:
    """Complete drafts, ready to submit: for each service a citizen may apply for online, one
    draft through the services (create + upload every material), checked with
    ``application_problems``; then clones of it (application, its current material files with
    their own stored files, the "created" timeline line) until each pool is full. Pools are
    {name: (owner username, size)}; returns {name: [public ids]} with the services interleaved.
    """
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import transaction

    from onewindow.casework import services as casework
    from onewindow.casework.models import Application, MaterialFile, TimelineEvent
    from onewindow.catalog.models import MaterialSource
    from onewindow.identity.access import _person_subject
    from onewindow.identity.models import User
    from onewindow.kit.crypto import sm3_hex

    digest = sm3_hex(PDF)
    metas = [
        m
        for m in services_meta()
        # Bundles (一件事) start a part per member department: a different, heavier action,
        # left out so the figure stays comparable with the runs before bundles existed.
        if m["valid"]
        and m["item"].serves_individuals
        and m["version"].online
        and not m["item"].is_bundle
    ]
    owners = {owner for owner, _size in pools.values()}
    templates: dict[tuple[str, int], tuple[Application, list[MaterialFile]]] = {}
    skipped = []
    for owner in sorted(owners):
        subject = _person_subject(User.objects.get(username=owner), mfa=True)
        for meta in metas:
            draft = casework.application_create(
                subject=subject, service_code=meta["item"].key, form_data=meta["raw"]
            )
            for material in meta["version"].materials.all():
                if material.source != MaterialSource.LICENSE:
                    casework.material_upload(
                        subject=subject,
                        application=draft,
                        material_key=material.key,
                        name=f"{material.key}.pdf",
                        data=PDF,
                    )
            draft.refresh_from_db()
            _cleaned, problems = casework.application_problems(draft)
            if problems:
                skipped.append((meta["item"].key, [p.field for p in problems]))
                continue
            templates[(owner, meta["svc"])] = (
                draft,
                list(MaterialFile.objects.filter(application=draft, current=True)),
            )
    if skipped:
        log(f"   services without a complete draft (left out): {skipped}")
    result: dict[str, list[str]] = {}
    for name, (owner, size) in pools.items():
        keys = sorted(svc for o, svc in templates if o == owner)
        ids: list[str] = []
        for start in range(0, size, 500):
            batch = []
            for n in range(start, min(size, start + 500)):
                template, _files = templates[(owner, keys[n % len(keys)])]
                clone = Application(
                    ref=uuid.uuid4(),
                    service_item_id=template.service_item_id,
                    service_version_id=template.service_version_id,
                    service_name=template.service_name,
                    department_id=template.department_id,
                    applicant_id=template.applicant_id,
                    channel=template.channel,
                    form_data=template.form_data,
                    version=template.version,
                )
                batch.append((clone, templates[(owner, keys[n % len(keys)])][1]))
            with transaction.atomic():
                Application.objects.bulk_create([c for c, _ in batch])
                files = []
                for clone, materials in batch:
                    for m in materials:
                        stored = default_storage.save(
                            f"materials/{dt.date.today():%Y/%m}/{clone.ref.hex}-{m.material_key}"
                            f"-v1-{digest[:16]}.pdf",
                            ContentFile(PDF),
                        )
                        files.append(
                            MaterialFile(
                                application=clone,
                                material_key=m.material_key,
                                material_name=m.material_name,
                                version=1,
                                current=True,
                                file=stored,
                                original_name=m.original_name,
                                content_type=m.content_type,
                                size=m.size,
                                sm3=m.sm3,
                                scan_status=m.scan_status,
                                uploaded_by_id=m.uploaded_by_id,
                            )
                        )
                MaterialFile.objects.bulk_create(files)
                TimelineEvent.objects.bulk_create(
                    [
                        TimelineEvent(application=c, kind="created", detail={"counter": False})
                        for c, _ in batch
                    ]
                )
            ids.extend(c.ref.hex for c, _ in batch)
        result[name] = ids
    return result


def write_pool(directory: Path, per_thread: list[tuple[str, list[str]]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, (token, ids) in enumerate(per_thread, start=1):
        (directory / f"thread{index}.txt").write_text(token + "\n" + "\n".join(ids) + "\n")


def verify(url: str, drafts: list[str], ok_numbers: list[str], today: dt.date) -> dict[str, Any]:
    """What the database says after the submissions, against the numbers wrk received."""
    import psycopg

    refs = [uuid.UUID(hex=h) for h in drafts]
    with psycopg.connect(url) as conn:

        def one(sql: str, params: Any = None) -> int:
            row = conn.execute(sql, params).fetchone()
            return int(row[0]) if row else 0

        numbered = one(
            "SELECT count(*) FROM casework_application WHERE ref = ANY(%s) AND number IS NOT NULL",
            (refs,),
        )
        answered = one(
            "SELECT count(*) FROM casework_application WHERE ref = ANY(%s) AND number = ANY(%s)",
            (refs, ok_numbers),
        )
        duplicates = one(
            "SELECT count(*) FROM (SELECT number FROM casework_application "
            "WHERE number IS NOT NULL GROUP BY number HAVING count(*) > 1) d"
        )
        instances = one(
            "SELECT count(*) FROM workflow_processinstance p JOIN casework_application a "
            "ON a.number = p.case_number WHERE a.ref = ANY(%s)",
            (refs,),
        )
        events = one("SELECT count(*) FROM events_outboxevent WHERE name = 'application.submitted'")
        # Each prefix's daily serial today has no gap and no repeat: its last value is the
        # number of applications numbered with that prefix today.
        gaps = one(
            """
            SELECT count(*) FROM casework_dailyserial s
            WHERE s.day = %(today)s AND s.last <> (
                SELECT count(*) FROM casework_application a
                WHERE a.number LIKE s.prefix || to_char(s.day, 'YYYYMMDD') || '_____')
            """,
            {"today": today},
        )
    return {
        "successful_responses": len(ok_numbers),
        "distinct_numbers_in_responses": len(set(ok_numbers)),
        "responses_found_in_database": answered,
        "drafts_numbered": numbered,
        "numbered_after_wrk_hung_up": numbered - answered,
        "process_instances": instances,
        "submitted_events": events,
        "duplicate_numbers": duplicates,
        "serial_prefixes_with_gaps": gaps,
    }


def inbox_facts(url: str, department: str, role: str, today: dt.date) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            SELECT count(*) FILTER (WHERE w.status = 'open'),
                   count(*) FILTER (WHERE w.status = 'open' AND w.due_at < %(today)s),
                   count(*) FILTER (WHERE w.status = 'open' AND w.due_at >= %(today)s
                                    AND w.warn_at <= %(today)s),
                   count(*) FILTER (WHERE w.status = 'paused')
            FROM workflow_workitem w JOIN org_department d ON d.id = w.department_id
            WHERE d.code = %(department)s AND w.role = %(role)s
            """,
            {"today": today, "department": department, "role": role},
        ).fetchone()
        top = conn.execute(
            """
            SELECT d.code, w.role, count(*) FROM workflow_workitem w
            JOIN org_department d ON d.id = w.department_id
            WHERE w.status = 'open' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5
            """
        ).fetchall()
    if row is None:
        raise RuntimeError("no answer")
    return {"open": row[0], "red": row[1], "yellow": row[2], "paused": row[3], "top": top}


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_URL, help="URL of a scratch database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="URL of a scratch Redis database")
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--drafts", type=int, default=6000, help="drafts for the loaded run")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the database and the home")
    args = parser.parse_args()
    binary = ensure_wrk()

    scratch = scratch_install("bench-casework", args.postgres, args.redis)
    home, env, name = scratch.home, scratch.env, scratch.name
    pg_version, shared_buffers = scratch.pg_version, scratch.shared_buffers
    import django

    django.setup()
    from django.db import connections as django_connections
    from django.utils import timezone

    today = timezone.localdate()
    log(f"== bulk-loading {args.applications:,} applications")
    load = bulk_load(args.postgres, args.applications, today)
    log(f"   loaded in {load['seconds']:.0f} s: {load['statuses']}")
    single_size, warm_size = 1000, 300
    log(f"== preparing {args.drafts + single_size + warm_size:,} complete drafts")
    t0 = time.monotonic()
    half = args.drafts // 2
    pools = prepare_drafts(
        {
            "loaded_zhangsan": ("zhangsan", half),
            "loaded_lisi": ("lisi", args.drafts - half),
            "single": ("wangwu", single_size),
            "warm": ("wangwu", warm_size),
        }
    )
    drafts_seconds = time.monotonic() - t0
    log(f"   drafts ready in {drafts_seconds:.0f} s")
    django_connections.close_all()
    vacuum_seconds = vacuum_analyze(args.postgres)
    log(f"   VACUUM (ANALYZE) {vacuum_seconds:.0f} s")
    clerk_inbox = inbox_facts(args.postgres, "gov_services", "window_clerk", today)
    market_inbox = inbox_facts(args.postgres, "market", "reviewer", today)
    log(f"   open work items by department and role: {clerk_inbox['top']}")

    workers = os.cpu_count() or 1
    server, base = start_server(env, workers)
    results: list[tuple[str, int, dict[str, Any]]] = []
    work = home / "wrk"
    try:
        from onewindow import demo

        staff_password = demo.STAFF_PASSWORD
        citizen_password = demo.CITIZEN_PASSWORD
        path_env = {"WRK_PATHS": str(work / "healthz.txt")}
        work.mkdir()
        (work / "healthz.txt").write_text("/healthz\n")
        health_lua = ROOT / "bench" / "paths.lua"
        inbox_path = "/api/v1/tasks?limit=50"

        def inbox_env(username: str) -> dict[str, str]:
            return {"WRK_PATH": inbox_path, "WRK_TOKEN": login(base, username, staff_password)}

        # Warm every worker: connections, caches, the submit path (parsed schemas, process
        # definitions) on a pool of its own.
        wrk(binary, base, health_lua, path_env, connections=4, seconds=2)
        wrk(binary, base, INBOX_LUA, inbox_env("clerk"), connections=4, seconds=3)
        wrk(binary, base, INBOX_LUA, inbox_env("market_reviewer"), connections=4, seconds=2)
        write_pool(work / "warm", [(login(base, "wangwu", citizen_password), pools["warm"])])
        warm = wrk(
            binary,
            base,
            SUBMIT_LUA,
            {"WRK_DRAFTS": str(work / "warm")},
            connections=4,
            seconds=2,
            threads=1,
        )
        log(f"warm-up submissions: {warm}")

        meter = CpuMeter(server.pid, name)

        def measure(
            label: str,
            script: Path,
            make_env: Callable[[], dict[str, str]],
            connections: int,
            threads: int | None = None,
        ) -> None:
            wait_quiet()
            env = make_env()  # after the wait: access tokens live 15 minutes
            meter.start()
            result = wrk(
                binary,
                base,
                script,
                env,
                connections=connections,
                seconds=args.seconds,
                threads=threads,
            )
            result.update(meter.stop(result.get("ok", result["requests"])))
            results.append((label, connections, result))
            log(f"{label} c={connections}: {result}")

        def pool_env(directory: str, owners: list[tuple[str, str]]) -> Callable[[], dict]:
            def make() -> dict[str, str]:
                write_pool(
                    work / directory,
                    [(login(base, owner, citizen_password), pools[pool]) for owner, pool in owners],
                )
                return {"WRK_DRAFTS": str(work / directory)}

            return make

        measure("/healthz", health_lua, lambda: path_env, args.connections)
        clerk_label = f"inbox, gov_services window clerk ({clerk_inbox['open']:,} open items)"
        measure(clerk_label, INBOX_LUA, lambda: inbox_env("clerk"), args.connections)
        measure(clerk_label, INBOX_LUA, lambda: inbox_env("clerk"), 1)
        market_label = f"inbox, market reviewer ({market_inbox['open']:,} open items)"
        measure(market_label, INBOX_LUA, lambda: inbox_env("market_reviewer"), args.connections)
        measure(market_label, INBOX_LUA, lambda: inbox_env("market_reviewer"), 1)
        submit_label = "submit (POST /api/v1/applications/{id}/submit)"
        measure(
            submit_label,
            SUBMIT_LUA,
            pool_env("loaded", [("zhangsan", "loaded_zhangsan"), ("lisi", "loaded_lisi")]),
            args.connections,
            threads=2,
        )
        measure(submit_label, SUBMIT_LUA, pool_env("single", [("wangwu", "single")]), 1, threads=1)
    finally:
        stop_server(server)

    ok_numbers = [
        line for path in sorted(work.glob("*/ok*.txt")) for line in path.read_text().split()
    ]
    in_flight = sum(c for label, c, _r in results if label.startswith("submit")) + 4
    all_drafts = [i for ids in pools.values() for i in ids]
    check = verify(args.postgres, all_drafts, ok_numbers, today)
    check["ok"] = (
        check["distinct_numbers_in_responses"]
        == check["successful_responses"]
        == check["responses_found_in_database"]
        and 0 <= check["numbered_after_wrk_hung_up"] <= in_flight
        and check["process_instances"] == check["drafts_numbered"] == check["submitted_events"]
        and check["duplicate_numbers"] == 0
        and check["serial_prefixes_with_gaps"] == 0
    )
    log(f"== check: {check}")

    ceiling = results[0][2]
    ceiling_p95 = ceiling["p95_ms"]
    lines = [
        DOC_INTRO,
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({platform.machine()}), PostgreSQL {pg_version.split()[0]} (shared_buffers "
        f"{shared_buffers}) and Redis on the same machine, granian with {workers} workers, "
        f"wrk for {args.seconds} s per row. {load['applications']:,} applications "
        f"({load['work_items']:,} work items, {load['timeline']:,} timeline lines) loaded in "
        f"{load['seconds']:.0f} s, then VACUUM (ANALYZE) in {vacuum_seconds:.0f} s. Ratios are "
        "to /healthz in the same run (req/s, and p95 for the p95 ratio).",
        "",
        "| measurement | connections | req/s | ratio | p50 ms | p95 ms | p95 ratio | p99 ms "
        "| errors | server CPU ms/req | PostgreSQL CPU ms/req | other load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, connections, r in results:
        errors = r["errors"] + r.get("failed", 0)
        lines.append(
            f"| {label} | {connections} | {r['rps']:.0f} | {r['rps'] / ceiling['rps']:.3f}x | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p95_ms'] / ceiling_p95:.1f}x | "
            f"{r['p99_ms']:.1f} | {errors}{' (drafts ran out)' if r.get('exhausted') else ''} | "
            f"{r['server_cpu_ms']:.1f} | {r['pg_cpu_ms']:.1f} | {r['other_load']:.0%} |"
        )
    submit = next(r for label, c, r in results if label.startswith("submit") and c > 1)
    clerk_one = next(r for label, c, r in results if label.startswith("inbox, gov") and c == 1)
    market_one = next(r for label, c, r in results if label.startswith("inbox, market") and c == 1)
    lines += [
        "",
        f"Against the targets: {submit['rps']:.0f} submissions/s at {args.connections} "
        f"connections ({'met' if submit['rps'] >= 200 else 'missed'}: >= 200); inbox p95 at one "
        f"connection {clerk_one['p95_ms']:.1f} ms for the clerk and {market_one['p95_ms']:.1f} ms "
        f"for the market reviewer "
        f"({'met' if max(clerk_one['p95_ms'], market_one['p95_ms']) <= 30 else 'missed'}: "
        "<= 30 ms).",
        "",
        f"Check: {check['successful_responses']:,} successful submit responses (warm-up "
        f"included) carried {check['distinct_numbers_in_responses']:,} distinct numbers, all "
        f"found on those drafts in the database; {check['drafts_numbered']:,} drafts were "
        f"numbered in all ({check['numbered_after_wrk_hung_up']} more than answered: requests "
        f"in flight when wrk stopped, which the server completed), each with one process "
        f"instance and one application.submitted event "
        f"({check['process_instances']:,} / {check['submitted_events']:,}); duplicate numbers "
        f"in the table: {check['duplicate_numbers']}; daily serials with a gap: "
        f"{check['serial_prefixes_with_gaps']}. The clerk's inbox: {clerk_inbox['open']:,} open "
        f"items ({clerk_inbox['red']:,} red, {clerk_inbox['yellow']:,} yellow), "
        f"{clerk_inbox['paused']:,} paused. Loaded statuses: "
        + ", ".join(f"{k} {v:,}" for k, v in load["statuses"].items())
        + ".",
    ]
    return finish(lines, args, (MARK_START, MARK_END, "Casework"), scratch, check["ok"])


if __name__ == "__main__":
    sys.exit(main())
