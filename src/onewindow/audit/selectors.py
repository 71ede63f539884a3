"""Reads of the audit trail (other apps read it only through these)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from onewindow.audit.models import AuditEntry


def entries(
    *, actor: str | None = None, actions: Iterable[str] | None = None, limit: int = 50
) -> QuerySet[AuditEntry]:
    """Newest first, optionally for one actor and some actions; at most ``limit`` rows."""
    qs = AuditEntry.objects.order_by("-seq")
    if actor:
        qs = qs.filter(actor=actor)
    if actions is not None:
        qs = qs.filter(action__in=list(actions))
    return qs[: max(1, min(limit, 500))]
