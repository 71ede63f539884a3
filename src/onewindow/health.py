"""/healthz (the process answers) and /readyz (database reachable, migrations applied)."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from onewindow.identity.access import public_page

logger = logging.getLogger("onewindow.health")

# Once every migration is seen applied, later probes only check the connection: loading the
# migration graph costs tens of milliseconds and cannot un-apply itself.
_migrations_applied = False


@public_page
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def pending_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@public_page
def readyz(request: HttpRequest) -> JsonResponse:
    global _migrations_applied
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        logger.warning("readiness: database unreachable", extra={"error": str(exc)})
        checks["database"] = "unreachable"
        return JsonResponse({"status": "not_ready", "checks": checks}, status=503)
    if not _migrations_applied:
        pending = pending_migrations()
        if pending:
            checks["migrations"] = f"{len(pending)} pending"
            return JsonResponse(
                {"status": "not_ready", "checks": checks, "pending": pending[:20]}, status=503
            )
        _migrations_applied = True
    checks["migrations"] = "ok"
    return JsonResponse({"status": "ready", "checks": checks})
