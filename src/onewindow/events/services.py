"""Writes of the outbox: ``emit`` (inside the caller's transaction) and delivery (the worker).

Delivery guarantees:

* **No event is lost.** The event and its ``Delivery`` rows commit with the business change or
  not at all. After commit a huey task is enqueued to deliver at once; if that enqueue fails, or
  the worker dies holding the task, the periodic sweep (``tasks.deliver_pending``, every minute
  and whenever a worker starts) still finds the pending rows.
* **Exactly once for database consumers.** Each attempt locks its ``Delivery`` row
  (``select_for_update(skip_locked=True)``; on SQLite every transaction is IMMEDIATE, so writers
  take turns), re-checks that it is still pending and due, runs the handler and marks the row
  done in that one transaction. A second worker racing for the same row skips it or finds it
  done; a worker killed half-way leaves an uncommitted transaction that the database rolls
  back, so the row is pending again and nothing of the handler remains.
* **At least once for external consumers** (webhooks later): the call cannot join the
  transaction, so they must pass ``event.key`` on as an idempotency key.
* A failing handler is retried after ``30 s x 2^(attempts - 1)`` (capped at an hour) and is
  ``dead`` after ``settings.ONEWINDOW_EVENT_MAX_ATTEMPTS`` attempts (logged at ERROR; visible in the
  console).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from onewindow.events import names, registry
from onewindow.events.models import Delivery, DeliveryStatus, OutboxEvent

logger = logging.getLogger("onewindow.events")

RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 3600
DEFAULT_MAX_ATTEMPTS = 8
ERROR_TEXT_LIMIT = 2000


class OutsideTransactionError(RuntimeError):
    """``emit`` was called in autocommit mode, outside the transaction of the change."""


def max_attempts() -> int:
    return max(1, int(getattr(settings, "ONEWINDOW_EVENT_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s, ... 1 h."""
    seconds = RETRY_BASE_SECONDS * 2 ** max(0, min(attempts - 1, 20))
    return timedelta(seconds=min(seconds, RETRY_CAP_SECONDS))


# --- emit ------------------------------------------------------------------------------------


def emit(name: str, payload: dict[str, Any], *, key: str) -> OutboxEvent:
    """Record the event ``name`` in the caller's transaction, one pending delivery per consumer.

    Must be called inside ``transaction.atomic()`` — the transaction that makes the change the
    event reports — so the event commits or rolls back with it. ``key`` is the idempotency key
    (e.g. ``"application.accepted:2025-000123"``): emitting a key that already exists is a
    no-op that returns the existing event (its first payload wins). The payload must be JSON
    (dates and decimals are turned into strings). Delivery starts after commit.
    """
    return emit_many([(name, payload, key)])[0]


def emit_many(events: Sequence[tuple[str, dict[str, Any], str]]) -> list[OutboxEvent]:
    """``emit`` for several events of one change at once: (name, payload, key) each, in one
    INSERT (``ON CONFLICT (key) DO NOTHING``: a key that exists, or that a concurrent
    transaction commits first, is not inserted and its existing event is returned), one INSERT
    of the deliveries and one delivery task after commit. Returns the events in the given
    order."""
    if not transaction.get_connection().in_atomic_block:
        raise OutsideTransactionError(
            "events.services.emit() must be called inside the transaction that makes the "
            "change (wrap the service in transaction.atomic); in autocommit mode the event "
            "could be sent for a change that never happened, or lost for one that did"
        )
    now = timezone.now()
    wanted: dict[str, OutboxEvent] = {}
    for name, payload, key in events:
        names.check(name)
        if not key or len(key) > 200:
            raise ValueError("an event key is 1-200 characters")
        data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
        if not isinstance(data, dict):
            raise TypeError("an event payload is a JSON object (a dict)")
        if key in wanted:
            _same_event(wanted[key], name)
            continue
        consumers = registry.consumers_for(name)
        wanted[key] = OutboxEvent(
            name=name,
            key=key,
            payload=data,
            created_at=now,
            delivered_at=None if consumers else now,
        )
    if not wanted:
        return []
    inserted = _insert_new(list(wanted.values()))
    missing = [key for key in wanted if key not in inserted]
    if missing:
        # Emitted before (or by a transaction that committed while we waited): theirs is the
        # event, and its first payload wins.
        for existing in OutboxEvent.objects.filter(key__in=missing):
            wanted[existing.key] = _same_event(existing, wanted[existing.key].name)
    deliveries: list[Delivery] = []
    for key, event_id in inserted.items():
        event = wanted[key]
        event.pk = event_id
        event._state.adding = False
        event._state.db = "default"
        deliveries.extend(
            Delivery(event_id=event_id, consumer=c, next_attempt_at=now)
            for c in registry.consumers_for(event.name)
        )
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        ids = sorted({d.event_id for d in deliveries})
        transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return [wanted[key] for _name, _payload, key in events]


def _insert_new(rows: list[OutboxEvent]) -> dict[str, int]:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id, key: {key: id} of the new rows.
    (PostgreSQL waits for a concurrent insert of the same key to commit or roll back, so no
    savepoint is needed to survive that race.)"""
    meta = OutboxEvent._meta
    columns = ["name", "key", "payload", "created_at", "delivered_at"]
    fields = [f for c in columns if isinstance(f := meta.get_field(c), Field)]
    quote = connection.ops.quote_name
    params: list[Any] = []
    for row in rows:
        params.extend(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields)
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES {values} ON CONFLICT ({quote('key')}) DO NOTHING "
        f"RETURNING {quote('id')}, {quote('key')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key: event_id for event_id, key in cursor.fetchall()}


def _same_event(existing: OutboxEvent, name: str) -> OutboxEvent:
    if existing.name != name:
        raise ValueError(
            f"event key {existing.key!r} is already used by a {existing.name!r} event, not {name!r}"
        )
    return existing


def _enqueue(event_ids: list[int]) -> None:
    """After commit: ask the worker to deliver now (one task for the transaction's events). A
    failure here loses nothing: the rows are committed and the periodic sweep delivers them."""
    try:
        from onewindow.events.tasks import deliver_events

        deliver_events(event_ids)
    except Exception:
        logger.warning(
            "could not enqueue event delivery; the sweep will deliver it",
            exc_info=True,
            extra={"event_ids": event_ids},
        )


# --- delivery --------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    delivery_ids: list[int] = field(default_factory=list)

    def add(self, outcome: str, delivery_id: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.delivery_ids.append(delivery_id)

    @property
    def attempted(self) -> int:
        return self.done + self.retried + self.dead


def deliver_due(limit: int = 500, *, now: datetime | None = None) -> DeliveryReport:
    """Attempt up to ``limit`` pending deliveries that are due, oldest first.

    The worker's sweep calls this; tests call it to deliver synchronously. Each delivery is its
    own transaction, so one consumer's failure never holds back another's success.
    """
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[: max(1, limit)]
    )
    return _attempt_all(ids)


def deliver(event_id: int) -> DeliveryReport:
    """Attempt the due pending deliveries of one event (the task enqueued after commit)."""
    ids = list(
        Delivery.objects.filter(
            event_id=event_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    return _attempt_all(ids)


def _attempt_all(ids: list[int]) -> DeliveryReport:
    report = DeliveryReport()
    for delivery_id in ids:
        try:
            outcome = delivery_attempt(delivery_id)
        except Exception:
            # The transaction itself failed (connection lost, commit refused): nothing was
            # recorded, the row is still pending and the sweep tries again.
            logger.exception("event delivery transaction failed", extra={"delivery": delivery_id})
            outcome = "skipped"
        report.add(outcome, delivery_id)
    return report


def delivery_attempt(delivery_id: int) -> str:
    """One attempt at one delivery: ``"done"``, ``"retried"``, ``"dead"`` or ``"skipped"`` (not
    pending, not due yet, or locked by another worker)."""
    with transaction.atomic():
        now = timezone.now()
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(pk=delivery_id)
            .first()
        )
        if (
            delivery is None
            or delivery.status != DeliveryStatus.PENDING
            or delivery.next_attempt_at > now
        ):
            return "skipped"
        handler = registry.handler_for(delivery.consumer)
        try:
            if handler is None:
                raise LookupError(f"no consumer named {delivery.consumer!r} is registered")
            with transaction.atomic():  # a savepoint: a failed handler leaves nothing behind
                handler(delivery.event)
        except Exception as exc:
            return _failed(delivery, exc, now)
        delivery.status = DeliveryStatus.DONE
        delivery.attempts += 1
        delivery.done_at = now
        delivery.last_error = ""
        delivery.save(update_fields=["status", "attempts", "done_at", "last_error"])
        _event_delivered_check(delivery.event_id, now)
        return "done"


def _failed(delivery: Delivery, exc: Exception, now: datetime) -> str:
    delivery.attempts += 1
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]
    log_extra = {
        "event_id": delivery.event_id,
        "event": delivery.event.name,
        "consumer": delivery.consumer,
        "attempts": delivery.attempts,
        "error": delivery.last_error,
    }
    if delivery.attempts >= max_attempts():
        delivery.status = DeliveryStatus.DEAD
        outcome = "dead"
        logger.error("event delivery is dead after its last attempt", extra=log_extra)
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        outcome = "retried"
        logger.warning("event delivery failed; will retry", exc_info=exc, extra=log_extra)
    delivery.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
    return outcome


def _event_delivered_check(event_id: int, now: datetime) -> None:
    """Stamp ``delivered_at`` once every consumer has the event. The event row is locked first
    (FOR NO KEY UPDATE, which does not block the foreign keys of consumers' rows pointing at
    it), so of two consumers finishing at once the later one sees the other's commit."""
    event = (
        OutboxEvent.objects.select_for_update(no_key=True)
        .filter(pk=event_id, delivered_at__isnull=True)
        .only("id")
        .first()
    )
    if event is None:
        return
    if not Delivery.objects.filter(event_id=event_id).exclude(status=DeliveryStatus.DONE).exists():
        OutboxEvent.objects.filter(pk=event_id).update(delivered_at=now)
