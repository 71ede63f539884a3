"""Data hub benchmark: registry lookups/s through the exchange API, logging on, 10,000,000 persons.

    .venv/bin/python bench/datahub.py                    # 10,000,000 persons
    .venv/bin/python bench/datahub.py --persons 1000000 --keep
    .venv/bin/python bench/datahub.py --write            # update docs/performance.md

It creates a scratch PostgreSQL database (default onewindow_bench_datahub on 127.0.0.1),
migrates it and seeds the demo city (whose data hub holds about 10,000 persons), then loads
persons up to --persons with COPY: ID numbers of the demo city (area 990100, which the demo's
own residents never use, so none collides) with valid check digits, each encrypted with SM4 and
hashed with HMAC-SM3 by the platform's own keyring exactly as ``persons_load`` does; the unique
index on the look-up hash is rebuilt afterwards. A data steward of market regulation asks for,
and public security's steward approves, an agreement on the population dataset (name, birth
date, status; masked as usual); market regulation's system is a machine client with the
``datahub`` scope. The platform is served with granian (workers = cores, Redis cache) and wrk
on 127.0.0.1 measures /healthz (the ceiling) and ``GET /api/v1/datahub/population/{id}?fields=
name,birth_date,status`` with X-Case-Number and X-Purpose, each request a random one of 20,000
persons spread over the table: every read checks the client, its rate limit, the agreement and
the ID number and writes its access-log row. Afterwards it checks that the access log holds one
"allowed" row per answered lookup. Every figure is printed as a ratio to /healthz; with --write
the table replaces the data hub section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import random
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import casework as common

ROOT = common.ROOT
LOOKUP_LUA = ROOT / "bench" / "datahub_lookup.lua"
HEALTH_LUA = ROOT / "bench" / "paths.lua"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/onewindow_bench_datahub"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
MARK_START, MARK_END = "<!-- bench:datahub -->", "<!-- /bench:datahub -->"
AREA = "990100"
FIRST_DAY = dt.date(1936, 1, 1)
DAYS = 25_000  # birth dates 1936-2004
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌玉兰辉鹏飞宇晨欣怡子涵浩然"
)
CASE_NUMBER = "BENCH-2026-000001"
FIELDS = "name,birth_date,status"
MACHINE_SECRET = "bench-datahub-machine-secret-0123456789abcdef"  # noqa: S105 - scratch only
DOC_INTRO = """\
`.venv/bin/python bench/datahub.py --write` (PostgreSQL on 127.0.0.1:5432 and Redis on 6379
required; `--postgres URL`, `--redis URL`, `--persons N`, `--keep`) creates a scratch database,
seeds the demo city and loads the population registry up to 10,000,000 persons with COPY (ID
numbers of the demo area with valid check digits, each SM4-encrypted and HMAC-SM3-hashed by the
platform's keyring, as the loader does). Market regulation holds an approved agreement on the
population dataset (name, birth date, status) and a machine client with the `datahub` scope.
wrk on 127.0.0.1 against granian (workers = cores) with the Redis cache measures /healthz (the
ceiling) and `GET /api/v1/datahub/population/{id}?fields=name,birth_date,status` with
`X-Case-Number` and `X-Purpose`, each request a random one of 20,000 persons spread over the
table. Every lookup authenticates the client and counts its rate limit, checks the agreement
and the ID number, reads and masks the person and writes its access-log row (logging on).
"server" and "PostgreSQL CPU ms/req" are the CPU of granian's processes and of the bench
database's backends per request; "other load" is everything else on the machine.

Target: >= 1,500 lookups/s with logging on."""


def id_number(n: int) -> str:
    """The n-th bench resident's ID number: area 990100, a birth date, a sequence, check digit."""
    from onewindow.kit.validators import id_number_check_char

    day = FIRST_DAY + dt.timedelta(days=n % DAYS)
    first17 = f"{AREA}{day:%Y%m%d}{n // DAYS:03d}"
    return first17 + id_number_check_char(first17)


def _rows(span: tuple[int, int, int, str]) -> bytes:
    """COPY text lines for persons [start, stop) (runs in a worker process)."""
    from onewindow.identity import crypto

    start, stop, address_id, now = span
    ring = crypto.keyring()
    purpose = crypto.ID_NUMBER
    out = []
    for n in range(start, stop):
        number = id_number(n)
        day = FIRST_DAY + dt.timedelta(days=n % DAYS)
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]
        if n % 3:
            name += GIVEN[(n * 13) % len(GIVEN)]
        sex = "1" if int(number[16]) % 2 else "2"
        out.append(
            "\t".join(
                (
                    ring.encrypt(number, purpose=purpose),
                    ring.lookup_hash(number, purpose=purpose),
                    name,
                    sex,
                    day.isoformat(),
                    str(address_id),
                    "alive",
                    "\\N",
                    now,
                    "population",
                    "\\N",
                    now,
                )
            )
        )
    return ("\n".join(out) + "\n").encode()


def load_persons(url: str, count: int) -> dict[str, Any]:
    """Load ``count`` bench residents with COPY (2 processes encrypt, this one streams)."""
    import psycopg

    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        address_id = conn.execute(
            "INSERT INTO datahub_address (region_id, detail) VALUES (%s, %s) "
            "ON CONFLICT (region_id, detail) DO UPDATE SET detail = EXCLUDED.detail RETURNING id",
            [AREA, "示范市中心区市民大道100号"],
        ).fetchone()[0]  # type: ignore[index]
        (constraint,) = conn.execute(
            """
            SELECT c.conname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.conrelid = 'datahub_person'::regclass AND c.contype = 'u'
              AND a.attname = 'id_number_hash'
            """
        ).fetchone()  # type: ignore[misc]
        conn.execute(f'ALTER TABLE datahub_person DROP CONSTRAINT "{constraint}"')
        now = dt.datetime.now(dt.UTC).isoformat()
        chunk = 20_000
        spans = [(s, min(count, s + chunk), address_id, now) for s in range(0, count, chunk)]
        columns = (
            "id_number_encrypted, id_number_hash, name, sex, birth_date, household_address_id, "
            "status, death_date, updated_at, source_key, import_batch_id, loaded_at"
        )
        context = multiprocessing.get_context("fork")
        done = 0
        with (
            context.Pool(os.cpu_count() or 1) as pool,
            conn.cursor().copy(f"COPY datahub_person ({columns}) FROM STDIN") as copy,
        ):
            for data in pool.imap(_rows, spans):
                copy.write(data)
                done += data.count(b"\n")
                if done % 1_000_000 < chunk:
                    common.log(f"   {done:,} persons")
        loaded = time.monotonic() - t0
        conn.execute(
            f'ALTER TABLE datahub_person ADD CONSTRAINT "{constraint}" UNIQUE (id_number_hash)'
        )
        conn.execute("VACUUM (ANALYZE) datahub_person")
        total = conn.execute("SELECT count(*) FROM datahub_person").fetchone()[0]  # type: ignore[index]
    return {
        "loaded": count,
        "total": total,
        "load_seconds": loaded,
        "index_seconds": time.monotonic() - t0 - loaded,
    }


def setup_sharing() -> None:
    """Stewards, the approved agreement and market regulation's machine client."""
    from onewindow.datahub import services as hub
    from onewindow.datahub.models import Dataset
    from onewindow.identity import services as identity
    from onewindow.identity.access import _person_subject
    from onewindow.org.models import Department, Region

    city = Region.objects.get(code="990100")
    stewards = {}
    for code in ("public_security", "market"):
        user = identity.staff_upsert(
            username=f"bench_{code}_steward",
            display_name=f"{code} 数据管理员",
            department=Department.objects.get(code=code),
            region=city,
            roles=["data_steward"],
            password="Bench-Steward-2026",  # noqa: S106 - scratch database only
        )
        stewards[code] = _person_subject(user, mfa=True)
    dataset = Dataset.objects.get(key="population")
    requested = hub.agreement_request(
        subject=stewards["market"],
        dataset=dataset,
        fields=FIELDS.split(","),
        purpose="市场主体登记核验",
        legal_basis="《市场主体登记管理条例》",
        expires_on=dt.date.today() + dt.timedelta(days=365),
    )
    hub.agreement_decide(subject=stewards["public_security"], agreement=requested, approve=True)
    identity.client_register(
        name="市场监管业务系统（性能测试）",
        kind="machine",
        client_id="bench-market-system",
        client_secret=MACHINE_SECRET,
        allowed_scopes="datahub",
        department=Department.objects.get(code="market"),
        rate_limit_per_minute=100_000_000,  # the rate limit is counted, never reached
    )


def machine_token(base: str) -> str:
    import base64
    import json

    credentials = base64.b64encode(f"bench-market-system:{MACHINE_SECRET}".encode()).decode()
    request = urllib.request.Request(
        base + "/o/token/",
        data=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": "datahub"}
        ).encode(),
        headers={"Authorization": f"Basic {credentials}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token: str = json.loads(response.read())["access_token"]
    return token


def logged_reads(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM datahub_accesslog WHERE case_number = %s "
            "GROUP BY outcome",
            [CASE_NUMBER],
        ).fetchall()
    return {outcome: n for outcome, n in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_URL, help="URL of a scratch database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="URL of a scratch Redis database")
    parser.add_argument("--persons", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the database and the home")
    args = parser.parse_args()
    binary = common.ensure_wrk()

    scratch = common.scratch_install("bench-datahub", args.postgres, args.redis)
    home, env, name = scratch.home, scratch.env, scratch.name
    pg_version, shared_buffers = scratch.pg_version, scratch.shared_buffers
    import django

    django.setup()
    from django.db import connections as django_connections

    setup_sharing()
    from onewindow.datahub.models import Person

    demo_persons = Person.objects.count()
    django_connections.close_all()
    to_load = max(0, args.persons - demo_persons)
    common.log(f"== loading {to_load:,} persons ({demo_persons:,} from the demo)")
    load = load_persons(args.postgres, to_load)
    common.log(
        f"   {load['total']:,} persons; COPY {load['load_seconds']:.0f} s, unique index and "
        f"ANALYZE {load['index_seconds']:.0f} s"
    )

    workers = os.cpu_count() or 1
    server, base = common.start_server(env, workers)
    work = home / "wrk"
    work.mkdir()
    (work / "healthz.txt").write_text("/healthz\n")
    rng = random.Random(20261121)  # noqa: S311 - the same sample every run
    sample = [rng.randrange(to_load) for _ in range(20_000)] if to_load else []
    (work / "lookups.txt").write_text(
        "".join(f"/api/v1/datahub/population/{id_number(n)}?fields={FIELDS}\n" for n in sample)
    )
    results: list[tuple[str, int, dict[str, Any]]] = []
    try:
        meter = common.CpuMeter(server.pid, name)
        warm = common.wrk(
            binary,
            base,
            LOOKUP_LUA,
            {"WRK_PATHS": str(work / "lookups.txt"), "WRK_TOKEN": machine_token(base)},
            connections=4,
            seconds=3,
        )
        common.log(f"warm-up lookups: {warm}")

        def measure(label: str, script: Path, paths: str, connections: int) -> None:
            common.wait_quiet()
            wrk_env = {"WRK_PATHS": str(work / paths)}
            if script == LOOKUP_LUA:
                wrk_env["WRK_TOKEN"] = machine_token(base)
            meter.start()
            result = common.wrk(
                binary, base, script, wrk_env, connections=connections, seconds=args.seconds
            )
            result.update(meter.stop(result["requests"]))
            results.append((label, connections, result))
            common.log(f"{label} c={connections}: {result}")

        measure("/healthz", HEALTH_LUA, "healthz.txt", args.connections)
        label = f"lookup (GET /api/v1/datahub/population/{{id}}, {FIELDS})"
        measure(label, LOOKUP_LUA, "lookups.txt", args.connections)
        measure(label, LOOKUP_LUA, "lookups.txt", 1)
    finally:
        common.stop_server(server)

    logged = logged_reads(args.postgres)
    answered = warm["requests"] + sum(r["requests"] for lb, _c, r in results if lb != "/healthz")
    failed = warm["errors"] + sum(r["errors"] for lb, _c, r in results if lb != "/healthz")
    allowed = logged.get("allowed", 0)
    in_flight = 4 + sum(c for lb, c, _r in results if lb != "/healthz")
    check_ok = failed == 0 and answered <= allowed <= answered + in_flight
    common.log(f"== check: answered {answered}, failed {failed}, access log {logged}")

    ceiling = results[0][2]
    lines = [
        DOC_INTRO,
        "",
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({platform.machine()}), PostgreSQL {pg_version.split()[0]} (shared_buffers "
        f"{shared_buffers}) and Redis on the same machine, granian with {workers} workers, wrk "
        f"for {args.seconds} s per row. {load['total']:,} persons in the registry ({to_load:,} "
        f"loaded with COPY in {load['load_seconds']:.0f} s, unique look-up index and ANALYZE "
        f"{load['index_seconds']:.0f} s). Ratios are to /healthz in the same run.",
        "",
        "| measurement | connections | req/s | ratio | p50 ms | p95 ms | p95 ratio | p99 ms "
        "| errors | server CPU ms/req | PostgreSQL CPU ms/req | other load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lb, connections, r in results:
        lines.append(
            f"| {lb} | {connections} | {r['rps']:.0f} | {r['rps'] / ceiling['rps']:.3f}x | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p95_ms'] / ceiling['p95_ms']:.1f}x | "
            f"{r['p99_ms']:.1f} | {r['errors']} | {r['server_cpu_ms']:.1f} | "
            f"{r['pg_cpu_ms']:.1f} | {r['other_load']:.0%} |"
        )
    loaded_row = next(r for lb, c, r in results if lb != "/healthz" and c > 1)
    lines += [
        "",
        f"Against the target: {loaded_row['rps']:.0f} lookups/s at {args.connections} "
        f"connections ({'met' if loaded_row['rps'] >= 1500 else 'missed'}: >= 1,500).",
        "",
        f"Check: {answered:,} lookups answered (warm-up included), {failed} failed; the access "
        f"log holds {allowed:,} 'allowed' rows for the bench's case number "
        f"({allowed - answered} more: requests in flight when wrk hung up, which the server "
        f"completed) and {sum(v for k, v in logged.items() if k != 'allowed')} others.",
    ]
    return common.finish(
        lines, args, (MARK_START, MARK_END, "Data hub (issue 6)"), scratch, check_ok
    )


if __name__ == "__main__":
    sys.exit(main())
