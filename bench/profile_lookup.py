"""Where a registry lookup's time goes: queries and Python CPU of
GET /api/v1/datahub/population/{id}?fields=... (issue 6).

    .venv/bin/python bench/profile_lookup.py [--requests 400] [--sql]

A development aid beside bench/datahub.py (which measures throughput): it creates a scratch
PostgreSQL database (onewindow_profile_lookup), seeds the demo city (10,000 persons), sets up
bench/datahub.py's agreement and machine client, takes a client-credentials token and looks
persons up in-process through Django's test client (the whole request path: middleware, the
machine client's authentication and rate limit, the API, the checks, the access-log row) under
cProfile. It prints the CPU of /healthz and of a lookup without the profiler, the queries per
lookup (with --sql, the statements) and the functions with the most cumulative and own time.
No figure here is a target; use it to find cost.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import casework as common
import datahub as hub_bench

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/onewindow_profile_lookup"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_URL)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="write the cProfile stats to this file (for pstats)")
    args = parser.parse_args()

    common.scratch_install("profile-lookup", args.postgres, args.redis)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from onewindow.datahub.models import Person
    from onewindow.datahub.selectors import ID_NUMBER_PURPOSE
    from onewindow.identity import crypto

    hub_bench.setup_sharing()
    ids = [
        crypto.decrypt(p.id_number_encrypted, ID_NUMBER_PURPOSE)
        for p in Person.objects.order_by("pk")[: args.requests * 2 + 50]
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    basic = base64.b64encode(f"bench-market-system:{hub_bench.MACHINE_SECRET}".encode()).decode()
    reply = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "datahub"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    token = reply.json()["access_token"]
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_X_CASE_NUMBER": hub_bench.CASE_NUMBER,
        "HTTP_X_PURPOSE": "市场主体登记核验",
    }

    def lookup(id_number: str) -> None:
        path = f"/api/v1/datahub/population/{id_number}?fields={hub_bench.FIELDS}"
        got = client.get(path, **headers)
        if got.status_code != 200:
            raise SystemExit(f"lookup failed: {got.status_code} {got.content[:400]!r}")

    for id_number in ids[:30]:  # warm caches, connections, imports
        lookup(id_number)
    c0 = time.process_time()
    for _ in range(400):
        client.get("/healthz")
    floor = (time.process_time() - c0) / 400 * 1000
    print(f"floor: GET /healthz {floor:.2f} ms CPU (same client and middleware)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    half = ids[30 + args.requests :]
    b0, c0 = common.process_cpu(backend), time.process_time()
    for id_number in half:
        lookup(id_number)
    plain = (time.process_time() - c0) / len(half) * 1000
    pg = (common.process_cpu(backend) - b0) / len(half) * 1000
    print(
        f"lookup without the profiler: {plain:.2f} ms CPU each in Python, {pg:.2f} ms in the "
        f"PostgreSQL backend ({len(half)} lookups)"
    )
    with CaptureQueriesContext(connection) as captured:
        lookup(ids[29])
    kinds = Counter(q["sql"].split()[0].upper() for q in captured.captured_queries)
    print(f"queries in one lookup: {len(captured.captured_queries)} {dict(kinds)}")
    import redis

    commands: list[str] = []
    original = redis.Redis.execute_command

    def counted(self: redis.Redis, *args: object, **kwargs: object) -> object:
        commands.append(" ".join(str(a) for a in args[:2]))
        return original(self, *args, **kwargs)

    redis.Redis.execute_command = counted  # type: ignore[method-assign]
    lookup(ids[28])
    redis.Redis.execute_command = original  # type: ignore[method-assign]
    print(f"Redis commands in one lookup: {len(commands)}: {commands}")
    if args.sql:
        for q in captured.captured_queries:
            print("  ", q["sql"][:220])
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for id_number in ids[30 : 30 + args.requests]:
        lookup(id_number)
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    if args.dump:
        stats.dump_stats(args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
