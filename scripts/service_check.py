"""Is a test service reachable? Used by scripts/test, so nothing is skipped silently.

    python scripts/service_check.py postgres URL
    python scripts/service_check.py redis URL

Exit 0: reachable. Unreachable: under CI=true print a loud failure and exit 1 (the run must
fail); otherwise print a loud warning and exit 2 (the caller skips that run, and says so).
"""

from __future__ import annotations

import os
import sys

BAR = "!" * 78


def reachable(kind: str, url: str) -> str | None:
    """None when reachable, else the reason."""
    try:
        if kind == "postgres":
            import dj_database_url
            import psycopg

            cfg = dj_database_url.parse(url)
            psycopg.connect(
                host=cfg["HOST"] or "127.0.0.1", port=cfg["PORT"] or 5432, user=cfg["USER"],
                password=cfg["PASSWORD"] or None, dbname="postgres", connect_timeout=5,
            ).close()  # fmt: skip
        elif kind == "redis":
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        else:
            return f"unknown service kind {kind!r}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"postgres", "redis"}:
        print(__doc__, file=sys.stderr)
        return 64
    kind, url = argv
    reason = reachable(kind, url)
    if reason is None:
        return 0
    name = "PostgreSQL" if kind == "postgres" else "Redis"
    if os.environ.get("CI") == "true":
        message = f"{name} is NOT reachable at {url}, and CI=true requires it. FAILING.\n{reason}"
        code = 1
    else:
        message = f"{name} is NOT reachable at {url}: its test run is SKIPPED.\n{reason}"
        code = 2
    print(f"\n{BAR}\n{message}\n{BAR}\n", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
