"""Delivery jobs run by ``onewindow worker``.

``deliver_events`` is enqueued after each commit that emitted an event; ``deliver_pending``
sweeps every minute, when a worker starts, and again at once while a backlog remains, so an
event whose task was lost (enqueue failed, worker killed) is still delivered.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_startup

from onewindow.events import services

logger = logging.getLogger("onewindow.events")

SWEEP_LIMIT = 500


@db_task()
def deliver_events(event_ids: list[int]) -> None:
    """Deliver a transaction's events to their consumers now (enqueued by ``emit`` after
    commit), in the order they were emitted."""
    for event_id in event_ids:
        services.deliver(event_id)


@db_task()
def deliver_event(event_id: int) -> None:
    """Deliver one event now (tasks queued by earlier releases; ``deliver_events`` now)."""
    services.deliver(event_id)


@db_periodic_task(crontab(minute="*"))
def deliver_pending() -> None:
    """Deliver every pending delivery that is due: first attempts whose task was lost, and
    retries whose backoff has passed."""
    report = services.deliver_due(limit=SWEEP_LIMIT)
    if report.attempted or report.skipped:
        logger.info(
            "event sweep",
            extra={
                "done": report.done,
                "retried": report.retried,
                "dead": report.dead,
                "skipped": report.skipped,
            },
        )
    if report.attempted and len(report.delivery_ids) >= SWEEP_LIMIT:
        deliver_pending()  # a backlog: go on at once instead of in a minute


@on_startup("events.sweep")
def sweep_on_start() -> None:
    """A worker that starts (after a crash, a deploy) delivers what is pending straight away."""
    try:
        deliver_pending()
    except Exception:
        logger.warning("could not enqueue the event sweep at start", exc_info=True)
