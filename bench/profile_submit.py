"""Where a submission's time goes: queries and Python CPU of POST /api/v1/applications/{id}/submit.

    .venv/bin/python bench/profile_submit.py [--requests 200] [--sql]
    .venv/bin/python bench/profile_submit.py --requests 150 --compare-prepared 3

A development aid beside bench/casework.py (which measures throughput): it creates a scratch
PostgreSQL database (onewindow_profile_submit), seeds the demo city, prepares complete drafts
with bench/casework.py's helper, then submits them in-process through Django's test client with
a bearer token (the whole request path: middleware, authentication, the API, the services) under
cProfile. It prints the queries per request (with --sql, the statements of one request) and the
functions with the most cumulative and own time. No figure here is a target; use it to find cost.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import casework as bench

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/onewindow_profile_submit"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_URL)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--dump", help="write the cProfile stats to this file (for pstats)")
    parser.add_argument(
        "--compare-prepared",
        type=int,
        metavar="ROUNDS",
        help="instead: alternate client-side binding and prepared statements (ADR 0015) for "
        "ROUNDS rounds of --requests submissions each, and print the CPU of each",
    )
    args = parser.parse_args()
    if args.compare_prepared:
        return compare_prepared(args)

    bench.scratch_install("profile", args.postgres, args.redis)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from onewindow import demo

    drafts = bench.prepare_drafts({"p": ("zhangsan", 2 * args.requests + 20)})["p"]
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post(
        "/api/v1/auth/login",
        {"username": "zhangsan", "password": demo.CITIZEN_PASSWORD},
        content_type="application/json",
    )
    token = response.json()["access_token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}

    def submit(ref: str) -> None:
        reply = client.post(f"/api/v1/applications/{ref}/submit", **headers)
        if reply.status_code != 200:
            raise SystemExit(f"submit failed: {reply.status_code} {reply.content[:400]!r}")

    for ref in drafts[:20]:  # warm caches, connections, imports
        submit(ref)
    c0 = time.process_time()
    for _ in range(200):
        if client.get("/api/v1/me", **headers).status_code != 200:
            raise SystemExit("GET /api/v1/me failed")
    floor = (time.process_time() - c0) / 200 * 1000
    print(f"floor: GET /api/v1/me {floor:.2f} ms CPU (same client, token and middleware)")
    half = (args.requests - 1) // 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
        if os.environ.get("PROFILE_ASYNC_COMMIT"):  # experiment: what the WAL flush costs
            cursor.execute("SET synchronous_commit TO off")
    b0 = bench.process_cpu(backend)
    c0 = time.process_time()
    for ref in drafts[21 + args.requests : 21 + args.requests + half]:
        submit(ref)
    plain = (time.process_time() - c0) / half * 1000
    pg = (bench.process_cpu(backend) - b0) / half * 1000
    print(
        f"submit without the profiler: {plain:.2f} ms CPU each in Python, {pg:.2f} ms in the "
        f"PostgreSQL backend ({half} submissions)"
    )
    with CaptureQueriesContext(connection) as captured:
        submit(drafts[20])
    kinds = Counter(q["sql"].split()[0].upper() for q in captured.captured_queries)
    print(f"queries in one submission: {len(captured.captured_queries)} {dict(kinds)}")
    if args.sql:
        for q in captured.captured_queries:
            print("  ", q["sql"][:220])
    profile = cProfile.Profile(time.process_time)  # CPU, not wall: waits on PostgreSQL excluded
    t0, c0 = time.perf_counter(), time.process_time()
    profile.enable()
    for ref in drafts[21 : 21 + args.requests - 1]:
        submit(ref)
    profile.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = args.requests - 1
    print(
        f"{n} submissions: {wall / n * 1000:.1f} ms wall, {cpu / n * 1000:.1f} ms CPU each "
        "(under cProfile, which inflates both)"
    )
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    if args.dump:
        stats.dump_stats(args.dump)
    return 0


def compare_prepared(args: argparse.Namespace) -> int:
    """Python and PostgreSQL backend CPU per submission with the database OPTIONS of ADR 0015
    on and off, alternating in one run on the same drafts (bundles included)."""
    bench.scratch_install("profile", args.postgres, args.redis)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from onewindow import demo

    n, rounds = args.requests, args.compare_prepared
    drafts = iter(bench.prepare_drafts({"p": ("zhangsan", 2 * rounds * (n + 10) + 10)})["p"])
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post(
        "/api/v1/auth/login",
        {"username": "zhangsan", "password": demo.CITIZEN_PASSWORD},
        content_type="application/json",
    )
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}",
        "HTTP_ACCEPT": "application/json",
    }
    options = dict(connection.settings_dict["OPTIONS"])
    plain = {
        k: v for k, v in options.items() if k not in ("server_side_binding", "prepare_threshold")
    }
    variants = {
        "client-side binding": plain,
        "prepared statements": {**plain, "server_side_binding": True, "prepare_threshold": 2},
    }
    totals = {name: [0.0, 0.0, 0] for name in variants}

    def submit() -> None:
        reply = client.post(f"/api/v1/applications/{next(drafts)}/submit", **headers)
        if reply.status_code != 200:
            raise SystemExit(f"submit failed: {reply.status_code} {reply.content[:400]!r}")

    for _round in range(rounds):
        for name, opts in variants.items():
            connection.close()
            connection.settings_dict["OPTIONS"] = opts
            for _ in range(10):  # a new connection: its statements get prepared here
                submit()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (backend,) = cursor.fetchone()
            b0, c0 = bench.process_cpu(backend), time.process_time()
            for _ in range(n):
                submit()
            totals[name][0] += time.process_time() - c0
            totals[name][1] += bench.process_cpu(backend) - b0
            totals[name][2] += n
    for name, (python, backend_cpu, count) in totals.items():
        print(
            f"{name}: {python / count * 1000:.2f} ms Python, "
            f"{backend_cpu / count * 1000:.2f} ms PostgreSQL backend per submission ({count})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
