"""Who consumes which events.

An app registers a consumer in its ``AppConfig.ready()`` (usually by importing its
``consumers.py``)::

    from onewindow.events.registry import consumer

    @consumer("notify.in_app", events=["application.accepted", "task.assigned"])
    def in_app(event: OutboxEvent) -> None:
        ...

``emit`` creates one ``Delivery`` row per consumer registered for the event's name at that
moment; the worker runs the handler and marks the row done **in one database transaction**, so
a consumer that only writes to this database takes effect exactly once. A consumer that talks
to the outside world (a webhook, an SMS gateway) cannot be inside that transaction: it is
at-least-once (a worker that dies after the call and before the commit calls it again) and
must send the event's ``key`` as an idempotency key so the receiver can drop the repeat.

A handler must be deterministic about failure: raise to have the delivery retried later (with
backoff, ``dead`` after ``ONEWINDOW_EVENT_MAX_ATTEMPTS``); return to have it marked done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onewindow.events.names import check

if TYPE_CHECKING:
    from onewindow.events.models import OutboxEvent

Handler = Callable[["OutboxEvent"], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    events: frozenset[str]
    handler: Handler


_CONSUMERS: dict[str, Consumer] = {}


def register(name: str, events: Iterable[str], handler: Handler) -> Consumer:
    """Register ``handler`` as the consumer ``name`` of ``events`` (known event names)."""
    if not name or len(name) > 100:
        raise ValueError("a consumer name is 1-100 characters, e.g. 'notify.in_app'")
    wanted = frozenset(check(event) for event in events)
    if not wanted:
        raise ValueError(f"consumer {name!r} consumes no events")
    existing = _CONSUMERS.get(name)
    if existing is not None and (
        existing.handler.__module__,
        existing.handler.__qualname__,
    ) != (handler.__module__, handler.__qualname__):
        raise ValueError(f"consumer {name!r} is already registered by another handler")
    registered = Consumer(name=name, events=wanted, handler=handler)
    _CONSUMERS[name] = registered
    return registered


def consumer(name: str, events: Iterable[str]) -> Callable[[Handler], Handler]:
    """Decorator form of ``register``."""

    def decorate(handler: Handler) -> Handler:
        register(name, events, handler)
        return handler

    return decorate


def consumers_for(event_name: str) -> list[str]:
    """Names of the consumers of ``event_name``, sorted (the order deliveries are created)."""
    return sorted(c.name for c in _CONSUMERS.values() if event_name in c.events)


def handler_for(consumer_name: str) -> Handler | None:
    registered = _CONSUMERS.get(consumer_name)
    return registered.handler if registered else None


def consumers() -> list[Consumer]:
    return sorted(_CONSUMERS.values(), key=lambda c: c.name)
