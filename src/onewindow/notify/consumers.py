"""notify's outbox consumer: application.*, task.* and license.* events become in-app messages.

Emitters put ``recipients`` (user ids) and/or ``audience`` (``{"department_id", "role"}``: that
department's staff holding the role, looked up at delivery) in the payload, plus the display
parameters the message templates use (``number``, ``service_name``, ``reason``, ``due_date``)
and a relative ``link``.
"""

from __future__ import annotations

from onewindow.events.models import OutboxEvent
from onewindow.events.names import EVENT_NAMES
from onewindow.events.registry import consumer
from onewindow.notify import services

CONSUMER = "notify.in_app"
EVENTS = sorted(n for n in EVENT_NAMES if n.startswith(("application.", "task.", "license.")))


@consumer(CONSUMER, events=EVENTS)
def in_app(event: OutboxEvent) -> None:
    services.notifications_from_event(event=event)
