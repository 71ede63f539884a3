"""Catalog benchmark: search and service detail on a 10,000-item catalog, measured with wrk.

    .venv/bin/python bench/catalog.py                  # SQLite, 10,000 items
    .venv/bin/python bench/catalog.py --postgres postgres://postgres@127.0.0.1:5432/onewindow_bench

It builds a scratch installation (the demo city plus generated items imported through the same
`onewindow catalog import` a city uses), serves it with granian (workers = cores), warms up,
then runs wrk against /healthz (the ceiling) and each endpoint in the same run. Every figure is
also printed as a ratio to /healthz. With --write, the table replaces the catalog section of
docs/performance.md. Traffic goes to 127.0.0.1 only, for a bounded time.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import casework as common

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ONEWINDOW = str(VENV_BIN / "onewindow")
LUA = ROOT / "bench" / "paths.lua"
QUERIES = [
    "社保",
    "医保",
    "开公司",
    "营业执照",
    "公积金提取",
    "户口",
    "出生",
    "退休",
    "失业登记",
    "食品经营许可",
    "身份证",
    "结婚",
    "税务",
    "注销",
    "入学",
    "殡葬",
]
VARIANTS = ["中心区", "滨江区", "高新区", "变更", "延续", "补办", "注销", "迁入", "迁出", "换领"]
MARK_START, MARK_END = "<!-- bench:catalog:start -->", "<!-- bench:catalog:end -->"


class NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True  # catalog files may not contain aliases


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


def generated_catalog(total: int) -> dict:
    """The demo catalog plus variants of its items up to ``total`` items."""
    demo = yaml.safe_load((ROOT / "src/onewindow/catalog/demo_catalog.yaml").read_text("utf-8"))
    items = list(demo["items"])
    base = list(items)
    n = 0
    while len(items) < total:
        template = base[n % len(base)]
        variant = VARIANTS[(n // len(base)) % len(VARIANTS)]
        item = copy.deepcopy(template)
        item["key"] = f"{template['key']}_{n}"
        item["name"] = f"{template['name']}（{variant}{n // (len(base) * len(VARIANTS)) or ''}）"
        item["basic_code"] = f"9{n:011d}"
        item.pop("implementation_code", None)
        item["high_frequency"] = False
        items.append(item)
        n += 1
    demo["items"] = items
    return demo


def run(env: dict[str, str], *args: str) -> None:
    subprocess.run([ONEWINDOW, *args], env=env, check=True)


def wrk(binary: str, url: str, paths: list[str], *, connections: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(paths))
        path_file = fh.name
    out = subprocess.run(
        [
            binary,
            "-t",
            "1" if connections < 2 else "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env={**os.environ, "WRK_PATHS": path_file},
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(path_file)
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--postgres", help="database URL of a scratch PostgreSQL database")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the scratch installation")
    args = parser.parse_args()
    binary = ensure_wrk()
    home = Path(tempfile.mkdtemp(prefix="onewindow-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEWINDOW_")}
    env.update(ONEWINDOW_HOME=str(home), ONEWINDOW_LOG_LEVEL="WARNING")
    database = "SQLite (WAL)"
    if args.postgres:
        import psycopg

        name = urllib.parse.urlsplit(args.postgres).path.lstrip("/")
        admin_url = args.postgres.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["ONEWINDOW_DATABASE_URL"] = args.postgres
        database = "PostgreSQL"
    print(f"== building a {args.items}-item catalog on {database} in {home}", file=sys.stderr)
    run(env, "migrate", "--verbosity", "0")
    run(env, "demo")
    catalog = generated_catalog(args.items)
    catalog_file = home / "catalog.yaml"
    catalog_file.write_text(
        yaml.dump(catalog, Dumper=NoAliasDumper, allow_unicode=True, sort_keys=False), "utf-8"
    )
    started = time.monotonic()
    run(env, "catalog", "import", str(catalog_file))
    import_seconds = time.monotonic() - started
    keys = [item["key"] for item in catalog["items"]]

    workers = os.cpu_count() or 1
    server, base = common.start_server(env, workers)
    try:
        quote = urllib.parse.quote
        sample = keys[:: max(1, len(keys) // 2000)]
        cases = [
            ("/healthz", ["/healthz"], args.connections),
            (
                "search API (/api/v1/services?q=)",
                [f"/api/v1/services?q={quote(q)}" for q in QUERIES],
                args.connections,
            ),
            (
                "search API, one client at a time",
                [f"/api/v1/services?q={quote(q)}" for q in QUERIES],
                1,
            ),
            (
                "service detail API (/api/v1/services/{key})",
                [f"/api/v1/services/{k}" for k in sample],
                args.connections,
            ),
            (
                "guide page (/services/{key}/)",
                [f"/services/{k}/" for k in sample],
                args.connections,
            ),
            (
                "search page (/services/?q=)",
                [f"/services/?q={quote(q)}" for q in QUERIES],
                args.connections,
            ),
        ]
        for _label, paths, _c in cases:  # warm every worker's caches and connections
            wrk(binary, base, paths, connections=4, seconds=2)
        results = []
        for label, paths, connections in cases:
            result = wrk(binary, base, paths, connections=connections, seconds=args.seconds)
            results.append((label, connections, result))
            print(f"{label}: {result}", file=sys.stderr)
    finally:
        common.stop_server(server)
    ceiling = results[0][2]["rps"]
    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({platform.machine()}), {database}, {len(keys)} published items (demo catalog "
        f"+ generated variants, imported in {import_seconds:.0f} s), granian with {workers} "
        f"workers, wrk for {args.seconds} s per row. Ratios are to /healthz in the same run.",
        "",
        "| endpoint | connections | req/s | ratio to /healthz | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, connections, r in results:
        lines.append(
            f"| {label} | {connections} | {r['rps']:.0f} | {r['rps'] / ceiling:.2f}x | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write:
        doc = ROOT / "docs" / "performance.md"
        text = doc.read_text("utf-8") if doc.exists() else "# Performance\n"
        section = f"{MARK_START}\n{table}\n{MARK_END}"
        if MARK_START in text:
            head, rest = text.split(MARK_START, 1)
            text = head + section + rest.split(MARK_END, 1)[1]
        else:
            text = text.rstrip() + "\n\n## Catalog (issue 4)\n\n" + section + "\n"
        doc.write_text(text, "utf-8")
        print(f"wrote {doc}", file=sys.stderr)
    if args.keep:
        print(f"kept {home}", file=sys.stderr)
    else:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
