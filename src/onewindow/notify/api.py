"""Notifications API: my in-app messages, rendered in the request's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from onewindow.identity.access import CITIZEN, STAFF, Subject, api_access
from onewindow.kit.errors import NOT_FOUND, PERMISSION_DENIED, ApiError
from onewindow.notify import selectors, services
from onewindow.notify.models import Notification

router = Router(tags=["notifications"])
MAX_ID = 2**63 - 1  # a bigint; larger ids cannot exist (and would be a database error)


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    params: dict[str, Any]
    link: str
    created_at: datetime
    read_at: datetime | None
    unread: bool


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    pages: int


class ReadAllOut(Schema):
    marked: int


def _user(request: HttpRequest) -> Any:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by the auth classes
    if subject.user is None:
        raise ApiError(PERMISSION_DENIED)
    return subject.user


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.pk,
        kind=n.kind,
        message=n.message,
        params=n.params if isinstance(n.params, dict) else {},
        link=n.link,
        created_at=n.created_at,
        read_at=n.read_at,
        unread=n.unread,
    )


@router.get(
    "/notifications",
    response=NotificationPageOut,
    auth=api_access(CITIZEN, STAFF),
    summary="My notifications: unread first, newest first",
)
def notifications(
    request: HttpRequest, unread: bool = False, page: int = Query(1, ge=1, le=10000)
) -> NotificationPageOut:
    """``unread=true`` lists only unread ones. Messages are in the request's language."""
    result = selectors.notification_page(user=_user(request), unread_only=unread, page=page)
    return NotificationPageOut(
        items=[_out(n) for n in result.items],
        total=result.total,
        unread=result.unread,
        page=result.page,
        pages=result.pages,
    )


@router.post(
    "/notifications/read-all",
    response=ReadAllOut,
    auth=api_access(CITIZEN, STAFF),
    summary="Mark all my notifications read",
)
def read_all(request: HttpRequest) -> ReadAllOut:
    return ReadAllOut(marked=services.notifications_mark_all_read(actor=_user(request)))


@router.post(
    "/notifications/{notification_id}/read",
    response=NotificationOut,
    auth=api_access(CITIZEN, STAFF),
    summary="Mark one of my notifications read",
)
def read(
    request: HttpRequest, notification_id: int = Path(..., ge=1, le=MAX_ID)
) -> NotificationOut:
    try:
        notification = services.notification_mark_read(
            actor=_user(request), notification_id=notification_id
        )
    except Notification.DoesNotExist:
        raise ApiError(NOT_FOUND) from None
    return _out(notification)
