"""Scheduled casework jobs run by ``onewindow worker``."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from onewindow.casework.services import overdue_scan

logger = logging.getLogger("onewindow.casework")


@db_periodic_task(crontab(minute="*/15"))
def overdue_scan_periodic() -> None:
    """Every quarter hour: red work items are escalated to their department's head once
    (task.overdue), so heads are told the day an item goes red, not when someone looks."""
    escalated = overdue_scan()
    if escalated:
        logger.info("overdue work items escalated", extra={"escalated": escalated})
