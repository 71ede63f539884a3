"""Writes of notifications: created by the outbox consumer, marked read by their recipient."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from onewindow.events.models import OutboxEvent
from onewindow.identity.selectors import staff_ids_holding
from onewindow.notify.models import Notification

MAX_RECIPIENTS = 10_000
MAX_USER_ID = 2**63 - 1  # larger ids cannot exist (and would be a database error)
RESERVED_PAYLOAD_KEYS = frozenset({"recipients", "audience", "link"})


def safe_link(value: Any) -> str:
    """A relative URL on this site ("/..."), or "" (no scheme, no "//host", no backslashes)."""
    if not isinstance(value, str):
        return ""
    link = value.strip()
    if (
        not link.startswith("/")
        or link.startswith("//")
        or "\\" in link
        or any(ord(c) < 32 for c in link)
        or len(link) > 300
    ):
        return ""
    return link


def _audience_ids(audience: Any) -> set[int]:
    """``{"department_id": N, "role": "reviewer"}``: the department's active staff holding the
    role when the event is delivered (so the emitter need not look people up)."""
    if not isinstance(audience, dict):
        return set()
    department_id, role = audience.get("department_id"), audience.get("role")
    if not isinstance(department_id, int) or not isinstance(role, str) or not role:
        return set()
    return set(staff_ids_holding(department_id=department_id, role=role))


def _recipient_ids(payload: dict[str, Any]) -> list[int]:
    raw = payload.get("recipients") or []
    if not isinstance(raw, list):
        raw = []
    ids = {
        int(r)
        for r in raw[:MAX_RECIPIENTS]
        if isinstance(r, int | str) and str(r).isdigit() and 0 < int(r) <= MAX_USER_ID
    }
    ids |= _audience_ids(payload.get("audience"))
    if not ids:
        return []
    # Only accounts that exist: a foreign key to a missing user would fail at commit, after the
    # handler, and the delivery would never succeed.
    existing = get_user_model().objects.filter(pk__in=ids).values_list("pk", flat=True)
    return sorted(existing)


@transaction.atomic
def notifications_from_event(*, event: OutboxEvent) -> list[Notification]:
    """One notification per recipient of ``event`` (``payload["recipients"]``: user ids, and
    ``payload["audience"]``: a department's holders of a role); the
    other payload fields are kept as display parameters, ``payload["link"]`` as the link.
    Recipients who already have this event's notification are skipped, so calling it again
    adds nothing."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    ids = _recipient_ids(payload)
    if not ids:
        return []
    already = set(
        Notification.objects.filter(event=event, recipient_id__in=ids).values_list(
            "recipient_id", flat=True
        )
    )
    params = {k: v for k, v in payload.items() if k not in RESERVED_PAYLOAD_KEYS}
    link = safe_link(payload.get("link"))
    rows = [
        Notification(
            recipient_id=user_id,
            event=event,
            kind=event.name,
            params=params,
            link=link,
            created_at=event.created_at,
        )
        for user_id in ids
        if user_id not in already
    ]
    return Notification.objects.bulk_create(rows)


@transaction.atomic
def notification_mark_read(*, actor: Any, notification_id: int) -> Notification:
    """Mark one of ``actor``'s notifications read. Someone else's id raises
    ``Notification.DoesNotExist`` exactly like a missing one (the API answers ``NOT_FOUND``,
    never 403), so ids cannot be probed."""
    notification = (
        Notification.objects.select_for_update()
        .filter(pk=notification_id, recipient_id=getattr(actor, "pk", None))
        .first()
    )
    if notification is None:
        raise Notification.DoesNotExist(notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, actor: Any) -> int:
    """Mark all of ``actor``'s unread notifications read; returns how many."""
    return Notification.objects.filter(
        recipient_id=getattr(actor, "pk", None), read_at__isnull=True
    ).update(read_at=timezone.now())
