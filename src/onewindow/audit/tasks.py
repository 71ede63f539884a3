"""Scheduled audit jobs run by ``onewindow worker``."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from onewindow.audit.models import AuditChainHead
from onewindow.audit.services import audit_chain_verify

logger = logging.getLogger("onewindow.audit")


# huey evaluates crontabs in UTC: 18:17 UTC is 02:17 in Beijing (UTC+8), a quiet hour.
@db_periodic_task(crontab(minute="17", hour="18"))
def audit_chain_check_daily() -> None:
    """Verify the chain every night and write its head to the log.

    The log goes to a separate system, so the logged head anchors the chain outside the
    database: rewriting the whole chain afterwards would not match the logged hash.
    """
    report = audit_chain_verify()
    if report.ok:
        head = AuditChainHead.objects.filter(pk=1).first()
        logger.info(
            "audit chain verified",
            extra={
                "checked": report.checked,
                "head_seq": head.seq if head else 0,
                "head_hash": head.hash if head else "",
            },
        )
    else:
        logger.critical(
            "audit chain broken",
            extra={"broken_seq": report.broken_seq, "reason": report.reason},
        )
