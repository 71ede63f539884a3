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


BUNDLE_CONSUMER = "casework.bundle"


@consumer(BUNDLE_CONSUMER, events=[names.APPLICATION_REJECTED, names.APPLICATION_NOT_ACCEPTED])
def bundle_part_refused(event: OutboxEvent) -> None:
    """A refused part of a bundle (一件事): under return_all the other parts stop."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    number = payload.get("number")
    if payload.get("part_of") and isinstance(number, str) and number:
        from onewindow.casework import bundles

        bundles.part_refused(number=number)
