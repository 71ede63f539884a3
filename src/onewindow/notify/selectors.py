"""Reads of notifications, always of the acting user's own."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When

from onewindow.notify.models import Notification

PER_PAGE = 20


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    total: int
    unread: int
    page: int
    pages: int


def notifications_for(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """``user``'s notifications: unread first, then newest first."""
    qs = Notification.objects.filter(recipient_id=getattr(user, "pk", None))
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by(
        Case(
            When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
        "-created_at",
        "-id",
    )


def notification_page(
    *, user: Any, unread_only: bool = False, page: int = 1, per_page: int = PER_PAGE
) -> NotificationPage:
    per_page = max(1, min(per_page, 100))
    qs = notifications_for(user=user, unread_only=unread_only)
    total = qs.count()
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(page, pages))
    items = list(qs[(page - 1) * per_page : page * per_page])
    return NotificationPage(
        items=items,
        total=total,
        unread=unread_count(user=user) if not unread_only else total,
        page=page,
        pages=pages,
    )


def unread_count(*, user: Any) -> int:
    if getattr(user, "pk", None) is None:
        return 0
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()
