from __future__ import annotations

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from onewindow.notify import selectors


def unread_notifications(request: HttpRequest) -> dict[str, object]:
    """``unread_notifications``: the logged-in person's unread count for the header badge,
    counted only if a template uses it (one indexed COUNT). An error page rendered while the
    database is failing shows no count rather than failing again."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        try:
            return selectors.unread_count(user=user)
        except DatabaseError:
            return 0

    return {"unread_notifications": SimpleLazyObject(count)}
