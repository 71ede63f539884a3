"""casework's outbox consumer: the cross-check of submitted answers with the registries."""

from __future__ import annotations

from onewindow.casework import services
from onewindow.events import names
from onewindow.events.models import OutboxEvent
from onewindow.events.registry import consumer

CONSUMER = "casework.registry_check"


@consumer(CONSUMER, events=[names.APPLICATION_SUBMITTED, names.APPLICATION_SUPPLEMENT_RETURNED])
def registry_check(event: OutboxEvent) -> None:
    number = event.payload.get("number") if isinstance(event.payload, dict) else None
    if isinstance(number, str) and number:
        services.registry_check(number=number)
