"""Where a read's time goes: queries and Python CPU of the GET endpoints bench/all.py measures.

    .venv/bin/python bench/profile_read.py status [--requests 300] [--sql]
    .venv/bin/python bench/profile_read.py inbox | search | detail | me

A development aid beside bench/all.py (which measures throughput), like profile_submit.py: it
creates a scratch PostgreSQL database (onewindow_profile_read), seeds the demo city, submits 40
complete food-business applications of zhangsan through the API (so they have steps, materials
and timelines), then reads the chosen endpoint in-process through Django's test client with a
bearer token (middleware, authentication, the API, the selectors) under cProfile. It prints the
CPU per request next to the ``GET /api/v1/me`` floor of the same client, the queries of one
request (with --sql, their text), and the functions with the most cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import casework as bench

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/onewindow_profile_read"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", choices=["status", "inbox", "search", "detail", "me"])
    parser.add_argument("--postgres", default=DEFAULT_URL)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    bench.scratch_install("profile-read", args.postgres, args.redis)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from onewindow import demo

    client = Client(HTTP_HOST="127.0.0.1")

    def headers_for(username: str, password: str) -> dict[str, str]:
        reply = client.post(
            "/api/v1/auth/login",
            {"username": username, "password": password},
            content_type="application/json",
        )
        token = reply.json()["access_token"]
        return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}

    citizen = headers_for("zhangsan", demo.CITIZEN_PASSWORD)
    drafts = bench.prepare_drafts({"p": ("zhangsan", 40)})["p"]
    numbers = []
    for ref in drafts:
        reply = client.post(f"/api/v1/applications/{ref}/submit", **citizen)
        if reply.status_code != 200:
            raise SystemExit(f"submit failed: {reply.status_code} {reply.content[:300]!r}")
        numbers.append(reply.json()["number"])
    if args.endpoint == "status":
        headers, paths = citizen, [f"/api/v1/applications/{n}" for n in numbers]
    elif args.endpoint == "inbox":
        headers, paths = headers_for("clerk", demo.STAFF_PASSWORD), ["/api/v1/tasks?limit=50"]
    elif args.endpoint == "me":  # the floor itself: middleware, authentication, a tiny answer
        headers, paths = citizen, ["/api/v1/me"]
    elif args.endpoint == "search":
        quote = urllib.parse.quote
        headers = citizen
        paths = [f"/api/v1/services?q={quote(q)}" for q in ("社保", "营业执照", "户口", "出生")]
    else:
        headers = citizen
        paths = [
            f"/api/v1/services/{k}"
            for k in ("food_business_license", "newborn_bundle", "business_license")
        ]

    def read(n: int) -> None:
        path = paths[n % len(paths)]
        reply = client.get(path, **headers)
        if reply.status_code != 200:
            raise SystemExit(f"GET {path}: {reply.status_code} {reply.content[:300]!r}")

    for n in range(40):  # warm caches and imports
        read(n)
        client.get("/api/v1/me", **headers)
    c0 = time.process_time()
    for _ in range(200):
        client.get("/api/v1/me", **headers)
    floor = (time.process_time() - c0) / 200 * 1000
    c0 = time.process_time()
    for n in range(args.requests):
        read(n)
    plain = (time.process_time() - c0) / args.requests * 1000
    print(
        f"{args.endpoint}: {plain:.2f} ms CPU per request in Python = {plain / floor:.1f}x the "
        f"GET /api/v1/me floor ({floor:.2f} ms), {args.requests} requests"
    )
    with CaptureQueriesContext(connection) as captured:
        read(0)
    kinds = Counter(q["sql"].split()[0].upper() for q in captured.captured_queries)
    print(f"queries in one request: {len(captured.captured_queries)} {dict(kinds)}")
    if args.sql:
        for q in captured.captured_queries:
            print("  ", q["sql"][:240])
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for n in range(args.requests):
        read(n)
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
