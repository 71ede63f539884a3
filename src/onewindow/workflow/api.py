"""Working-day deadlines for any caller (departments' systems compute the same dates)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema

from onewindow.identity.access import public_operation
from onewindow.kit.workdays import MAX_WORKING_DAYS
from onewindow.workflow.calendar import deadline as compute_deadline

router = Router(tags=["calendar"])


class DeadlineOut(Schema):
    due_date: dt.date
    provisional: bool


@router.get("/calendar/deadline", response=DeadlineOut, summary="Add working days to a date")
@public_operation
def deadline(
    request: HttpRequest,
    start: dt.date,
    working_days: int = Query(..., ge=0, le=MAX_WORKING_DAYS),
) -> DeadlineOut:
    """Counting starts the day after ``start``. ``provisional`` is true when the span reaches a
    year whose official holidays are not loaded yet (the statutory fallback was used)."""
    result = compute_deadline(start, working_days)
    return DeadlineOut(due_date=result.due_date, provisional=result.provisional)
