"""E-license benchmark: licenses issued/s (worker processes) and verifications/s (the public API).

    .venv/bin/python bench/licenses.py                   # 400 licenses, then verification
    .venv/bin/python bench/licenses.py --issue 100 --keep
    .venv/bin/python bench/licenses.py --write           # update docs/performance.md

It creates a scratch PostgreSQL database (default onewindow_bench_licenses on 127.0.0.1),
migrates it and seeds the demo city (license types, the departments' signing keys, the demo
enterprise and its 营业执照). Then:

* Issuing: one process per core (spawned, each setting Django up with the bench's environment,
  as the platform's worker issues licenses when an application is approved) calls
  ``license.services.license_issue`` for --issue 食品经营许可证 of the demo enterprise, each with
  its own premises and application number: the next serial, the identifier and its check
  character, the SM2 signature, the PDF (fpdf2, Noto Sans CJK subset, QR code) and its PAdES
  signature (pyHanko), the file, the row, the outbox event and the audit row. It reports
  licenses/s over the wall time, the latency of one issue, and the CPU of the issuing
  processes and of PostgreSQL per license. The same processes then read one license by its
  identifier through the ORM for --seconds (the in-process baseline), and one of them times
  the steps of issuing and verifying (where the time goes).
* Verifying: the platform is served with granian (workers = cores, Redis cache) and wrk on
  127.0.0.1 measures /healthz (the ceiling), ``GET /api/v1/licenses/{identifier}/verify`` (no
  login; parse, read, decrypt the holder code, SM3, SM2 verification, one Verification row)
  for identifiers picked at random among the issued licenses, at --connections and at one, and
  ``POST /api/v1/licenses/{identifier}/verify-pdf`` with the license's signed PDF.

Afterwards it checks in SQL that every license was issued once with its event and audit row,
that the serial counter has no gap, and that the Verification rows written during the wrk runs
are the answered verifications (plus the requests in flight when wrk hung up), all valid. Every
figure is also printed as a ratio to /healthz measured in the same run; issue 7 sets no numeric
target. With --write the table replaces the e-license section of docs/performance.md. The
database is dropped unless --keep.
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
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import casework as common

ROOT = common.ROOT
VERIFY_LUA = ROOT / "bench" / "license_verify.lua"
HEALTH_LUA = ROOT / "bench" / "paths.lua"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/onewindow_bench_licenses"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"  # casework 13, datahub 14, tests 15
MARK_START, MARK_END = "<!-- bench:licenses -->", "<!-- /bench:licenses -->"
LICENSE_TYPE = "food_business_license"
PREMISES_REGION = "990102"
VERIFY_RATE = 100_000_000  # per client IP and minute
MANAGERS = ["张三", "李敏", "王芳", "赵磊", "陈静", "刘洋", "周杰", "吴娟"]
DOC_INTRO = """\
`.venv/bin/python bench/licenses.py --write` (PostgreSQL on 127.0.0.1:5432 and Redis on 6379
required; `--postgres URL`, `--redis URL`, `--issue N`, `--processes N`, `--keep`) creates a
scratch database and seeds the demo city (license types, the departments' signing keys). It
then issues 400 食品经营许可证 to the demo enterprise from one process per core (spawned, each
setting Django up like the platform's worker, which issues a license when an application is
approved), each with its own premises and application number, through
`license.services.license_issue`: the next serial, the identifier with its MOD 37,36 check
character, the SM2 signature of the data, the PDF (fpdf2 with a Noto Sans CJK subset and the QR
code) and its PAdES signature (pyHanko), the file, the row, the `license.issued` outbox event and
the audit row. "issue" is licenses/s over the wall time of the whole batch, with the latency of
one issue and the CPU of the issuing processes ("server") and of PostgreSQL per license. The
same processes then read one license by identifier through the ORM (the in-process baseline).
Verification is measured with wrk on 127.0.0.1 against granian (workers = cores) with the Redis
cache: /healthz (the ceiling), `GET /api/v1/licenses/{identifier}/verify` (public, no login:
identifier and check character, the license read, the holder code decrypted, SM3 and SM2
verification of the data, one `Verification` row), each request a random one of the issued
licenses, and `POST /api/v1/licenses/{identifier}/verify-pdf` with the license's signed PDF
(pyHanko validation against the issuing key's certificate, SM3 of the file, then the same
checks). All of wrk's requests come from 127.0.0.1, so the per-IP verification limit
(`ONEWINDOW_VERIFY_RATE_PER_MINUTE`, 120 by default) is raised for the bench: every request
still counts it in Redis, none reaches it. "server" and "PostgreSQL CPU ms/req" are the CPU
of granian's processes and of the bench database's backends per request (a backend that
exits during a row is missed: Django reopens its connection after 60 s, so a late row can read
low); "other load" is everything else on the machine.

Issue 7 asks for licenses issued/s and verifications/s and sets no numeric target for them."""


# --- in the issuing processes -----------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _setup_state() -> None:
    from onewindow import demo
    from onewindow.identity.models import Enterprise
    from onewindow.license.models import LicenseType
    from onewindow.org.selectors import region_full_name

    enterprise = Enterprise.objects.select_related("legal_representative").get(
        uscc=demo.ENTERPRISE_USCC
    )
    representative = enterprise.legal_representative
    _STATE.update(
        license_type=LicenseType.objects.select_related("department").get(key=LICENSE_TYPE),
        enterprise=enterprise,
        representative=representative.display_name or representative.username,
        region=region_full_name(PREMISES_REGION),
        today=dt.date.today(),
    )


def _issue(n: int, application_number: str) -> tuple[str, str]:
    """Issue the n-th bench license (its own premises and manager): (identifier, PDF path)."""
    from onewindow.license.services import license_issue

    enterprise = _STATE["enterprise"]
    row = license_issue(
        license_type=_STATE["license_type"],
        holder_name=enterprise.name,
        holder_code=enterprise.uscc,
        holder_enterprise=enterprise,
        data=[
            ("经营者名称", enterprise.name),
            ("法定代表人（负责人）", _STATE["representative"]),
            ("经营场所", f"{_STATE['region']}市民大道{n % 400 + 1}号{n // 400 + 1}号铺"),
            ("食品安全管理人员", MANAGERS[n % len(MANAGERS)]),
        ],
        application_number=application_number,
    )
    return row.identifier, row.pdf.path


def _worker_init(barrier: Any) -> None:
    """Each issuing process: Django, the font, and one license issued to warm everything up
    (keys, connection, caches); then it waits for the others."""
    try:
        import django

        django.setup()
        from onewindow.license import pdf

        pdf.prepare_fonts()
        _setup_state()
        _issue(0, f"BENCH-WARM-{os.getpid()}")
    except Exception:
        traceback.print_exc()
    barrier.wait()


def _issue_task(n: int) -> tuple[str, str, float, str]:
    """(identifier, PDF path, seconds, error) of one issue."""
    t0 = time.perf_counter()
    try:
        identifier, path = _issue(n, f"BENCH{_STATE['today']:%Y%m%d}{n:06d}")
    except Exception as exc:
        return "", "", time.perf_counter() - t0, repr(exc)[:300]
    return identifier, path, time.perf_counter() - t0, ""


def _read_task(job: tuple[list[str], float, int]) -> list[float]:
    """The baseline: read one license by identifier through the ORM, for ``seconds``."""
    from onewindow.license.models import License

    identifiers, seconds, seed = job
    rng = random.Random(seed)  # noqa: S311 - picks test data
    latencies = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        License.objects.get(identifier=rng.choice(identifiers))
        latencies.append(time.perf_counter() - t0)
    return latencies


class _Timers:
    """Wraps functions (module attributes or methods) to add up the time spent in each,
    exclusive of the other wrapped functions it calls (so the parts add up)."""

    def __init__(self, parts: list[tuple[str, Any, str]]) -> None:
        self.parts = parts
        self.spent: dict[str, float] = {label: 0.0 for label, _o, _a in parts}
        self.restore: list[Callable[[], None]] = []
        self.nested: list[float] = []  # per open wrapped call: time of wrapped calls inside

    def __enter__(self) -> _Timers:
        for label, owner, attribute in self.parts:
            original = getattr(owner, attribute)
            own = attribute in vars(owner)

            def wrapper(*args: Any, _f: Any = original, _l: str = label, **kwargs: Any) -> Any:
                self.nested.append(0.0)
                t0 = time.perf_counter()
                try:
                    return _f(*args, **kwargs)
                finally:
                    elapsed = time.perf_counter() - t0
                    self.spent[_l] += elapsed - self.nested.pop()
                    if self.nested:
                        self.nested[-1] += elapsed

            setattr(owner, attribute, wrapper)
            if own:
                self.restore.append(lambda o=owner, a=attribute, f=original: setattr(o, a, f))
            else:
                self.restore.append(lambda o=owner, a=attribute: delattr(o, a))
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self.restore):
            undo()


def _timed_runs(
    parts: list[tuple[str, Any, str]], calls: list[Callable[[], Any]], warm: int = 0
) -> list[tuple[str, float]]:
    """Mean wall-clock ms per call of each part, of the rest and of the whole, over ``calls``
    (after ``warm`` untimed calls: first uses load modules and fill caches)."""
    for call in calls[:warm]:
        call()
    total = 0.0
    with _Timers(parts) as timers:
        for call in calls:
            t0 = time.perf_counter()
            call()
            total += time.perf_counter() - t0
    count = max(1, len(calls))
    rows = [(label, timers.spent[label] * 1000 / count) for label, _o, _a in parts]
    rest = total * 1000 / count - sum(ms for _l, ms in rows)
    return [*rows, ("the rest (ORM, transaction, Python)", rest), ("total", total * 1000 / count)]


def _breakdown_task(
    identifiers: list[str], pdfs: list[tuple[str, str]], issues: int, verifications: int
) -> dict[str, list[tuple[str, float]]]:
    """Where the time goes, in-process, in one issuing process (warm)."""
    from django.db.models.fields.files import FieldFile

    from onewindow.identity import crypto
    from onewindow.license import keys, pdf, services
    from onewindow.license.models import License

    issue_parts = [
        ("type serial counter (UPDATE + SELECT)", services, "_next_serial"),
        ("signing key read", keys, "active_key"),
        ("holder code SM4 encryption", crypto, "encrypt"),
        ("SM3 of the data and of the PDF", services, "sm3_hex"),
        ("SM2 signature of the data (key decryption + sign)", keys, "sm2_sign"),
        ("PDF signing key decryption", keys, "pdf_signer"),
        ("PDF render (fpdf2, CJK subset, QR code)", pdf, "render"),
        ("PDF signature (pyHanko)", pdf, "sign"),
        ("PDF file save", FieldFile, "save"),
        ("License INSERT", License, "save"),
        ("outbox event (license.issued)", services, "emit_many"),
        ("audit row", services, "audit_record"),
    ]
    verify_parts = [
        ("identifier parse + MOD 37,36 check", services, "parse_license_identifier"),
        ("license read (ORM: one SELECT with three joins)", services, "_find"),
        ("holder code SM4 decryption", crypto, "decrypt"),
        ("canonical JSON of the signed data", services, "signed_bytes"),
        ("SM3 of the data (and of the PDF)", services, "sm3_hex"),
        ("SM2 signature verification", keys, "sm2_verify"),
        ("Verification INSERT", services, "_log"),
    ]
    rng = random.Random(7)  # noqa: S311 - picks test data
    issue_calls = [(lambda k=k: _issue(k, f"BENCH-PROFILE-{k:04d}")) for k in range(issues)]
    picked = [rng.choice(identifiers) for _ in range(verifications)]
    limited = hasattr(services, "verification_allowed")  # the API checks the limit first
    if limited:
        verify_parts.insert(0, ("per-IP rate limit (Redis)", services, "verification_allowed"))

    def checked(call: Callable[[], Any]) -> Any:
        if limited:
            services.verification_allowed()  # looked up now: the timed one
        return call()

    verify_calls = [
        (lambda i=i: checked(lambda: services.license_verify(identifier=i))) for i in picked
    ]
    documents = [(identifier, Path(path).read_bytes()) for identifier, path in pdfs]
    pdf_calls = [
        (lambda i=i, d=d: checked(lambda: services.license_verify_pdf(identifier=i, document=d)))
        for i, d in documents
    ]
    return {
        "issue": _timed_runs(issue_parts, issue_calls),
        "verify": _timed_runs(verify_parts, verify_calls, warm=5),
        "verify_pdf": _timed_runs(
            [("PDF signature validation (pyHanko)", pdf, "check"), *verify_parts],
            pdf_calls,
            warm=2,
        ),
    }


# --- checks ----------------------------------------------------------------------------------


def license_facts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:

        def one(sql: str, params: Any = None) -> int:
            row = conn.execute(sql, params).fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        type_id = one("SELECT id FROM license_licensetype WHERE key = %s", [LICENSE_TYPE])
        return {
            "licenses": one(
                "SELECT count(*) FROM license_license WHERE license_type_id = %s", [type_id]
            ),
            "distinct_serials": one(
                "SELECT count(DISTINCT serial) FROM license_license WHERE license_type_id = %s",
                [type_id],
            ),
            "last_serial": one(
                "SELECT last_serial FROM license_licensetype WHERE id = %s", [type_id]
            ),
            "issued_events": one(
                "SELECT count(*) FROM events_outboxevent e JOIN license_license l "
                "ON e.key = 'license.issued:' || l.identifier WHERE l.license_type_id = %s",
                [type_id],
            ),
            "audit_rows": one(
                "SELECT count(*) FROM audit_auditentry a JOIN license_license l "
                "ON a.object_id = l.identifier AND a.detail->>'digest' = l.digest "
                "AND a.action = 'license.issue' WHERE l.license_type_id = %s",
                [type_id],
            ),
        }


def verification_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT channel || ':' || valid::text, count(*) FROM license_verification GROUP BY 1"
        ).fetchall()
    return {key: n for key, n in rows}


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_URL, help="URL of a scratch database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="URL of a scratch Redis database")
    parser.add_argument("--issue", type=int, default=400, help="licenses to issue (measured)")
    parser.add_argument("--processes", type=int, default=0, help="issuing processes (cores)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the database and the home")
    args = parser.parse_args()
    binary = common.ensure_wrk()

    # Every verification from wrk comes from 127.0.0.1: the per-IP limit is counted in
    # Redis on every request, as in service, but never reached.
    scratch = common.scratch_install(
        "bench-licenses",
        args.postgres,
        args.redis,
        ONEWINDOW_VERIFY_RATE_PER_MINUTE=str(VERIFY_RATE),
    )
    home, env, name = scratch.home, scratch.env, scratch.name
    pg_version, shared_buffers = scratch.pg_version, scratch.shared_buffers

    workers = os.cpu_count() or 1
    processes = args.processes or workers
    results: list[tuple[str, str, dict[str, Any]]] = []
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    common.log(f"== starting {processes} issuing processes (each warms up with one license)")
    pool = context.Pool(processes, initializer=_worker_init, initargs=(barrier,))
    try:
        barrier.wait(timeout=900)
        meter = common.CpuMeter(os.getpid(), name)  # this process and its issuing processes

        common.wait_quiet()
        common.log(f"== issuing {args.issue} licenses")
        meter.start()
        t0 = time.monotonic()
        outcomes = list(pool.imap_unordered(_issue_task, range(1, args.issue + 1)))
        wall = time.monotonic() - t0
        issued = [(i, p) for i, p, _s, e in outcomes if not e]
        failures = [e for _i, _p, _s, e in outcomes if e]
        for error in failures[:3]:
            common.log(f"   issue failed: {error}")
        latencies = [s * 1000 for _i, _p, s, e in outcomes if not e]
        issue_row: dict[str, Any] = {
            "requests": len(issued),
            "seconds": wall,
            "rps": len(issued) / wall,
            "p50_ms": _percentile(latencies, 50),
            "p95_ms": _percentile(latencies, 95),
            "p99_ms": _percentile(latencies, 99),
            "errors": len(failures),
            **meter.stop(len(issued)),
        }
        common.log(f"issue: {issue_row}")
        if not issued:
            sys.exit("no license was issued")
        identifiers = [i for i, _p in issued]

        common.wait_quiet()
        meter.start()
        t0 = time.monotonic()
        jobs = [(identifiers, 1.0, n) for n in range(processes * args.seconds)]
        reads = [ms * 1000 for batch in pool.map(_read_task, jobs, chunksize=1) for ms in batch]
        read_wall = time.monotonic() - t0
        read_row: dict[str, Any] = {
            "requests": len(reads),
            "seconds": read_wall,
            "rps": len(reads) / read_wall,
            "p50_ms": _percentile(reads, 50),
            "p95_ms": _percentile(reads, 95),
            "p99_ms": _percentile(reads, 99),
            "errors": 0,
            **meter.stop(len(reads)),
        }
        common.log(f"ORM read: {read_row}")

        common.wait_quiet()
        common.log("== where the time goes (one process, in-process)")
        breakdown = pool.apply(_breakdown_task, (identifiers, issued[:20], 20, 300))
        for kind, parts in breakdown.items():
            common.log(f"   {kind}: " + ", ".join(f"{label} {ms:.2f}" for label, ms in parts))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()

    server, base = common.start_server(env, workers)
    work = home / "wrk"
    work.mkdir()
    (work / "healthz.txt").write_text("/healthz\n")
    (work / "licenses.txt").write_text("".join(f"{i}\t{p}\n" for i, p in issued))
    before = verification_counts(args.postgres)
    warm: list[dict[str, Any]] = []
    try:
        licenses_env = {"WRK_LICENSES": str(work / "licenses.txt")}
        common.wrk(
            binary,
            base,
            HEALTH_LUA,
            {"WRK_PATHS": str(work / "healthz.txt")},
            connections=4,
            seconds=2,
        )
        for mode, seconds in (("api", 3), ("pdf", 3)):
            result = common.wrk(
                binary,
                base,
                VERIFY_LUA,
                {**licenses_env, "WRK_MODE": mode},
                connections=4,
                seconds=seconds,
            )
            result["mode"] = mode
            warm.append(result)
            common.log(f"warm-up verify ({mode}): {result}")
        server_meter = common.CpuMeter(server.pid, name)

        def measure(label: str, script: Path, wrk_env: dict[str, str], connections: int) -> None:
            common.wait_quiet()
            server_meter.start()
            result = common.wrk(
                binary, base, script, wrk_env, connections=connections, seconds=args.seconds
            )
            result.update(server_meter.stop(result["requests"]))
            results.append((label, str(connections), result))
            common.log(f"{label} c={connections}: {result}")

        measure("/healthz", HEALTH_LUA, {"WRK_PATHS": str(work / "healthz.txt")}, args.connections)
        api_label = "verify (GET /api/v1/licenses/{identifier}/verify)"
        api_env = {**licenses_env, "WRK_MODE": "api"}
        measure(api_label, VERIFY_LUA, api_env, args.connections)
        measure(api_label, VERIFY_LUA, api_env, 1)
        pdf_label = "verify-pdf (POST /api/v1/licenses/{identifier}/verify-pdf, 32 PDFs)"
        pdf_env = {**licenses_env, "WRK_MODE": "pdf"}
        measure(pdf_label, VERIFY_LUA, pdf_env, args.connections)
        measure(pdf_label, VERIFY_LUA, pdf_env, 1)
    finally:
        common.stop_server(server)

    # --- checks
    facts = license_facts(args.postgres)
    after = verification_counts(args.postgres)
    expected_licenses = processes + len(issued) + 20  # warm-ups, measured, the breakdown's
    licenses_ok = (
        not failures
        and len(set(identifiers)) == len(identifiers)
        and facts["licenses"]
        == facts["distinct_serials"]
        == facts["last_serial"]
        == facts["issued_events"]
        == facts["audit_rows"]
        == expected_licenses
        and all(Path(p).is_file() for _i, p in issued)
    )
    verify_rows = [(lb, r) for lb, _c, r in results if lb.startswith("verify")]
    checks: dict[str, dict[str, Any]] = {}
    for channel, mode, prefix in (("api", "api", "verify ("), ("pdf", "pdf", "verify-pdf")):
        runs = [r for r in warm if r["mode"] == mode] + [
            r for lb, r in verify_rows if lb.startswith(prefix)
        ]
        answered = sum(r["ok"] for r in runs)
        failed = sum(r["failed"] + r["errors"] for r in runs)
        in_flight = 4 + sum(int(c) for lb, c, _r in results if lb.startswith(prefix))
        logged = after.get(f"{channel}:true", 0) - before.get(f"{channel}:true", 0)
        invalid = after.get(f"{channel}:false", 0) - before.get(f"{channel}:false", 0)
        checks[channel] = {
            "answered_valid": answered,
            "failed": failed,
            "rows_valid": logged,
            "rows_invalid": invalid,
            "ok": failed == 0 and invalid == 0 and answered <= logged <= answered + in_flight,
        }
    check_ok = licenses_ok and all(c["ok"] for c in checks.values())
    common.log(f"== check: licenses {facts} ({licenses_ok}), verifications {checks}")

    # --- the table
    ceiling = results[0][2]
    rows = [
        results[0],
        (f"issue (license_issue, {LICENSE_TYPE})", f"{processes} processes", issue_row),
        ("baseline: ORM read of one license by identifier", f"{processes} processes", read_row),
        *results[1:],
    ]
    lines = [
        DOC_INTRO,
        "",
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({platform.machine()}), PostgreSQL {pg_version.split()[0]} (shared_buffers "
        f"{shared_buffers}) and Redis on the same machine; {processes} issuing processes "
        f"({len(issued):,} licenses in {wall:.1f} s, after one warm-up license each); granian "
        f"with {workers} workers and wrk for {args.seconds} s per row. Ratios are to /healthz in "
        "the same run (req/s, and p95 for the p95 ratio); for the issue and baseline rows, "
        "req/s is licenses (reads) per second and the latency that of one call in-process.",
        "",
        "| measurement | connections | req/s | ratio | p50 ms | p95 ms | p95 ratio | p99 ms "
        "| errors | server CPU ms/req | PostgreSQL CPU ms/req | other load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, connections, r in rows:
        errors = r["errors"] + r.get("failed", 0)
        lines.append(
            f"| {label} | {connections} | {r['rps']:.0f} | {r['rps'] / ceiling['rps']:.3f}x | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p95_ms'] / ceiling['p95_ms']:.1f}x | "
            f"{r['p99_ms']:.1f} | {errors} | {r['server_cpu_ms']:.1f} | "
            f"{r['pg_cpu_ms']:.1f} | {r['other_load']:.0%} |"
        )
    api_many = next(r for lb, c, r in results if lb.startswith("verify (") and c != "1")
    api_one = next(r for lb, c, r in results if lb.startswith("verify (") and c == "1")
    pdf_many = next(r for lb, c, r in results if lb.startswith("verify-pdf") and c != "1")
    lines += [
        "",
        f"Licenses issued/s: {issue_row['rps']:.1f} with {processes} processes "
        f"({issue_row['server_cpu_ms']:.0f} ms of CPU per license in the issuing processes, "
        f"{issue_row['pg_cpu_ms']:.1f} in PostgreSQL; one issue {issue_row['p50_ms']:.0f} ms "
        f"p50), {issue_row['rps'] / read_row['rps']:.4f}x the ORM reads/s of the same "
        f"processes. Verifications/s: {api_many['rps']:.0f} at {args.connections} connections "
        f"and {api_one['rps']:.0f} at one (p95 {api_one['p95_ms']:.1f} ms); with the PDF "
        f"{pdf_many['rps']:.0f}/s. No target: issue 7 sets none for these figures.",
        "",
        "Where the time goes: one issuing process after the runs above, in-process (no HTTP), "
        "wall-clock mean ms per call over 20 issues, 300 verifications and 20 PDF "
        "verifications, each step exclusive of the others; the rest is the ORM, transactions "
        "and Python between the timed steps. The server CPU per request above adds the HTTP "
        "request, the middleware and the JSON answer to these:",
        "",
        "| step | ms |",
        "|---|---|",
    ]
    titles = {
        "issue": "issue",
        "verify": "verify (identifier)",
        "verify_pdf": "verify (uploaded PDF)",
    }
    for kind, parts in breakdown.items():
        for label, ms in parts:
            if label == "total":
                lines.append(f"| **{titles[kind]}: total** | **{ms:.2f}** |")
            else:
                lines.append(f"| {titles[kind]}: {label} | {ms:.2f} |")
    audit_note = ", naming the identifier and the digest"
    lines += [
        "",
        f"Check: {facts['licenses']:,} 食品经营许可证 in the table ({processes} warm-ups, "
        f"{len(issued):,} measured, 20 for the breakdown; {len(failures)} failed), each with a "
        f"distinct serial (the type's counter stands at {facts['last_serial']:,}: no gap), a "
        f"license.issued event ({facts['issued_events']:,}), an audit row "
        f"({facts['audit_rows']:,}{audit_note}) and its PDF on disk. Identifier verifications answered "
        f"valid (warm-up included): {checks['api']['answered_valid']:,}, "
        f"{checks['api']['failed']} failed; Verification rows written meanwhile: "
        f"{checks['api']['rows_valid']:,} valid ({checks['api']['rows_valid'] - checks['api']['answered_valid']} "
        f"more: requests in flight when wrk hung up, which the server completed), "
        f"{checks['api']['rows_invalid']} not valid. PDF verifications: "
        f"{checks['pdf']['answered_valid']:,} answered valid, {checks['pdf']['failed']} failed, "
        f"{checks['pdf']['rows_valid']:,} rows valid, {checks['pdf']['rows_invalid']} not valid.",
    ]
    return common.finish(
        lines, args, (MARK_START, MARK_END, "E-licenses (issue 7)"), scratch, check_ok
    )


if __name__ == "__main__":
    sys.exit(main())
