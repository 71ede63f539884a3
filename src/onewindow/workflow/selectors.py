"""Reads of work items: inboxes and overdue lists are plain indexed queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from onewindow.identity.access import STAFF, Subject
from onewindow.kit.errors import NOT_FOUND, ApiError
from onewindow.workflow.models import Light, WorkItem, WorkItemStatus


def _light_filter(light: str, today: dt.date) -> Q:
    if light == Light.RED:
        return Q(due_at__lt=today)
    if light == Light.YELLOW:
        return Q(due_at__gte=today, warn_at__lte=today)
    return Q(due_at__isnull=True) | Q(warn_at__gt=today)


def inbox(
    *,
    subject: Subject,
    today: dt.date,
    status: str = WorkItemStatus.OPEN,
    mine: bool = False,
    light: str | None = None,
    number: str | None = None,
    role: str | None = None,
) -> QuerySet[WorkItem]:
    """Work items of the subject's department for the roles the subject holds, soonest due
    first (the index workitem_inbox serves this order)."""
    if subject.kind != STAFF or subject.department_id is None:
        return WorkItem.objects.none()
    roles = sorted(subject.roles if role is None else subject.roles & {role})
    rows = WorkItem.objects.filter(
        department_id=subject.department_id, role__in=roles, status=status
    )
    if mine and subject.user is not None:
        rows = rows.filter(assignee=subject.user)
    if light:
        rows = rows.filter(_light_filter(light, today))
    if number:
        rows = rows.filter(case_number=number)
    return rows.order_by("due_at", "id")


def overdue(*, subject: Subject, today: dt.date) -> QuerySet[WorkItem]:
    """Red items of the head's department, whatever the role (督办)."""
    if subject.kind != STAFF or "department_head" not in subject.roles:
        return WorkItem.objects.none()
    return WorkItem.objects.filter(
        department_id=subject.department_id or 0, status=WorkItemStatus.OPEN, due_at__lt=today
    ).order_by("due_at", "id")


def item_visible(*, subject: Subject, item_id: int) -> WorkItem:
    item = WorkItem.objects.select_related("department", "assignee").filter(pk=item_id).first()
    if (
        item is None
        or subject.kind != STAFF
        or item.department_id != subject.department_id
        or not (item.role in subject.roles or "department_head" in subject.roles)
    ):
        raise ApiError(NOT_FOUND)
    return item
