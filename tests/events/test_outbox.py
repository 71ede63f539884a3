"""The outbox: emit joins the caller's transaction; delivery is exactly once per consumer."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from onewindow.audit.models import AuditEntry
from onewindow.audit.services import audit_record
from onewindow.events import names, services, tasks
from onewindow.events.models import Delivery, DeliveryStatus, OutboxEvent
from onewindow.events.names import UnknownEventError

EFFECT = "test.outbox_effect"


def effects(event: OutboxEvent, consumer: str = "test.a") -> int:
    return AuditEntry.objects.filter(
        action=EFFECT, object_id=str(event.pk), object_repr=consumer
    ).count()


@pytest.fixture
def two_consumers(isolated_consumers):
    """Two database consumers of task.assigned; each writes one audit row per delivery."""

    def make(name: str):
        def handler(event: OutboxEvent) -> None:
            audit_record(actor="system", action=EFFECT, object_id=event.pk, object_repr=name)

        handler.__qualname__ = f"handler_{name}"
        isolated_consumers.register(name, [names.TASK_ASSIGNED], handler)

    make("test.a")
    make("test.b")
    return isolated_consumers


@pytest.fixture
def no_enqueue(monkeypatch):
    """Record what would be sent to huey instead of sending it."""
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks, "deliver_events", sent.append)
    return sent


def emit_one(key: str = "k-1", name: str = names.TASK_ASSIGNED, **payload) -> OutboxEvent:
    with transaction.atomic():
        return services.emit(name, {"recipients": [], **payload}, key=key)


# --- emit ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_raises():
    with pytest.raises(services.OutsideTransactionError, match=r"transaction\.atomic"):
        services.emit(names.TASK_ASSIGNED, {}, key="k-autocommit")
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_rollback_of_the_callers_transaction_leaves_no_event(
    two_consumers, django_capture_on_commit_callbacks
):
    class Boom(Exception):
        pass

    with (  # noqa: PT012
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        services.emit(names.TASK_ASSIGNED, {"x": 1}, key="k-rolled-back")
        raise Boom
    assert not OutboxEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert callbacks == []  # nothing is sent for a change that did not happen


@pytest.mark.django_db
def test_emit_writes_one_pending_delivery_per_consumer_and_enqueues_after_commit(
    two_consumers, no_enqueue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        event = emit_one(due_date=timezone.localdate(), number="A-1")
    assert event.payload["number"] == "A-1"
    assert isinstance(event.payload["due_date"], str)  # JSON, as stored
    rows = Delivery.objects.filter(event=event).order_by("consumer")
    assert [(d.consumer, d.status, d.attempts) for d in rows] == [
        ("test.a", DeliveryStatus.PENDING, 0),
        ("test.b", DeliveryStatus.PENDING, 0),
    ]
    assert event.delivered_at is None
    assert no_enqueue == []  # not before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert no_enqueue == [[event.pk]]


@pytest.mark.django_db
def test_a_failed_enqueue_loses_nothing(
    two_consumers, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(event_ids: list[int]) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks, "deliver_events", broken)
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.WARNING):
        event = emit_one()
    assert "the sweep will deliver it" in caplog.text
    assert services.deliver_due().done == 2
    assert effects(event, "test.a") == effects(event, "test.b") == 1


@pytest.mark.django_db
def test_an_event_without_consumers_is_delivered_at_once(isolated_consumers):
    event = emit_one()
    assert event.delivered_at is not None
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_the_same_key_twice_is_a_no_op(two_consumers):
    first = emit_one(key="application.accepted:A-1", number="A-1")
    again = emit_one(key="application.accepted:A-1", number="changed")
    assert again.pk == first.pk
    assert again.payload["number"] == "A-1"  # the first payload wins
    assert OutboxEvent.objects.count() == 1
    assert Delivery.objects.count() == 2
    with pytest.raises(ValueError, match="already used"):
        emit_one(key="application.accepted:A-1", name=names.TASK_OVERDUE)


@pytest.mark.django_db
def test_emit_many_writes_a_changes_events_together_and_enqueues_them_once(
    two_consumers, no_enqueue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        earlier = emit_one(key="task.assigned:1")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events = services.emit_many(
            [
                (names.APPLICATION_SUBMITTED, {"number": "A-3"}, "application.submitted:A-3"),
                (names.TASK_ASSIGNED, {"number": "again"}, "task.assigned:1"),
                (names.TASK_ASSIGNED, {"number": "A-3"}, "task.assigned:7"),
                (names.TASK_ASSIGNED, {"number": "twice"}, "task.assigned:7"),
            ]
        )
    assert [e.key for e in events] == [
        "application.submitted:A-3",
        "task.assigned:1",
        "task.assigned:7",
        "task.assigned:7",
    ]
    assert events[0].delivered_at is not None  # nobody consumes it here
    assert events[1].pk == earlier.pk  # an existing key: its event, not a new one
    assert events[1].payload == {"recipients": []}  # the first payload wins
    assert events[2].pk == events[3].pk
    assert events[2].payload["number"] == "A-3"  # within one call too
    assert OutboxEvent.objects.count() == 3
    rows = Delivery.objects.exclude(event=earlier).values_list("event_id", "consumer")
    assert sorted(rows) == [(events[2].pk, "test.a"), (events[2].pk, "test.b")]
    assert no_enqueue == [[earlier.pk], [events[2].pk]]  # one delivery task per call
    with pytest.raises(ValueError, match="already used"), transaction.atomic():
        services.emit_many([(names.TASK_OVERDUE, {}, "task.assigned:1")])
    with pytest.raises(ValueError, match="already used"), transaction.atomic():
        services.emit_many([(names.TASK_ASSIGNED, {}, "k-9"), (names.TASK_OVERDUE, {}, "k-9")])


@pytest.mark.django_db
def test_unknown_event_names_are_programming_errors(isolated_consumers):
    with pytest.raises(UnknownEventError, match=r"names\.py"):
        emit_one(name="application.teleported")
    with pytest.raises(UnknownEventError):
        isolated_consumers.register("test.bad", ["application.teleported"], lambda e: None)
    assert {"application.submitted", "task.escalated"} <= names.EVENT_NAMES
    assert len(names.EVENT_NAMES) == 16  # 14 application.* / task.*, 2 license.*


# --- delivery --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivery_runs_each_consumer_once_and_stamps_the_event(two_consumers):
    event = emit_one()
    report = services.deliver_due()
    assert (report.done, report.retried, report.dead) == (2, 0, 0)
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.DONE, 1)}
    assert effects(event, "test.a") == effects(event, "test.b") == 1
    assert services.deliver_due().attempted == 0


@pytest.mark.django_db
def test_delivering_the_same_event_twice_gives_one_effect(two_consumers):
    """The task after commit and the sweep (or two workers) both try the same rows."""
    event = emit_one()
    ids = list(Delivery.objects.values_list("id", flat=True))
    assert services.deliver(event.pk).done == 2
    assert services.deliver(event.pk).attempted == 0
    assert [services.delivery_attempt(i) for i in ids] == ["skipped", "skipped"]
    tasks.deliver_event.call_local(event.pk)
    tasks.deliver_pending.call_local()
    assert effects(event, "test.a") == effects(event, "test.b") == 1


@pytest.mark.django_db
def test_a_failing_consumer_is_retried_with_backoff_then_dead(two_consumers, settings, caplog):
    settings.ONEWINDOW_EVENT_MAX_ATTEMPTS = 3

    def failing(event: OutboxEvent) -> None:
        audit_record(actor="system", action=EFFECT, object_id=event.pk, object_repr="test.fail")
        raise RuntimeError("the mail server is down")

    two_consumers.register("test.fail", [names.TASK_ASSIGNED], failing)
    event = emit_one()
    failed = Delivery.objects.get(consumer="test.fail")

    before = timezone.now()
    report = services.deliver_due()
    assert (report.done, report.retried) == (2, 1)
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING
    assert failed.attempts == 1
    assert failed.last_error == "RuntimeError: the mail server is down"
    assert before + timedelta(seconds=29) < failed.next_attempt_at
    assert failed.next_attempt_at < timezone.now() + timedelta(seconds=31)
    assert effects(event, "test.fail") == 0  # the handler's own writes were rolled back
    assert services.deliver_due().attempted == 0  # not due yet

    Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert services.deliver_due().retried == 1
    failed.refresh_from_db()
    assert failed.attempts == 2
    assert failed.next_attempt_at > timezone.now() + timedelta(seconds=59)  # backed off

    Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    with caplog.at_level(logging.ERROR, logger="onewindow.events"):
        assert services.deliver_due().dead == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.DEAD, 3)
    dead_log = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert dead_log.consumer == "test.fail"
    assert dead_log.event_id == event.pk
    Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert services.deliver_due().attempted == 0  # dead stays dead
    event.refresh_from_db()
    assert event.delivered_at is None  # not every consumer has it
    assert effects(event, "test.a") == 1


def test_backoff_doubles_from_thirty_seconds_and_is_capped():
    assert [services.retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.retry_delay(8).total_seconds() == 3600
    assert services.retry_delay(1000).total_seconds() == 3600


@pytest.mark.django_db
def test_a_delivery_for_an_unregistered_consumer_is_retried_not_lost(two_consumers):
    event = emit_one()
    del two_consumers._CONSUMERS["test.b"]
    assert services.deliver_due().retried == 1
    row = Delivery.objects.get(event=event, consumer="test.b")
    assert row.status == DeliveryStatus.PENDING
    assert "no consumer named 'test.b'" in row.last_error


@pytest.mark.django_db
def test_the_sweep_task_and_the_startup_hook(two_consumers, monkeypatch):
    emit_one(key="k-1")
    emit_one(key="k-2")
    tasks.deliver_pending.call_local()
    assert Delivery.objects.filter(status=DeliveryStatus.DONE).count() == 4
    enqueued: list[str] = []
    monkeypatch.setattr(tasks, "deliver_pending", lambda: enqueued.append("sweep"))
    tasks.sweep_on_start()
    assert enqueued == ["sweep"]


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_event_give_one_effect(isolated_consumers):
    """Real concurrency: eight threads with their own connections deliver the same event."""

    def slow(event: OutboxEvent) -> None:
        audit_record(actor="system", action=EFFECT, object_id=event.pk, object_repr="test.slow")
        time.sleep(0.2)

    isolated_consumers.register("test.slow", [names.TASK_ASSIGNED], slow)
    event = emit_one()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            services.deliver(event.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert effects(event, "test.slow") == 1
    row = Delivery.objects.get(event=event)
    assert (row.status, row.attempts) == (DeliveryStatus.DONE, 1)
