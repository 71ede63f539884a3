"""license's outbox consumer: an approved application's e-license is issued automatically."""

from __future__ import annotations

from onewindow.events import names
from onewindow.events.models import OutboxEvent
from onewindow.events.registry import consumer
from onewindow.license import services

CONSUMER = "license.issue"


@consumer(CONSUMER, events=[names.APPLICATION_APPROVED])
def issue_on_approval(event: OutboxEvent) -> None:
    number = event.payload.get("number") if isinstance(event.payload, dict) else None
    if isinstance(number, str) and number:
        services.license_issue_for_application(number=number)
