"""Reads of the outbox (for operators and tests)."""

from __future__ import annotations

from django.db.models import QuerySet

from onewindow.events.models import Delivery, DeliveryStatus, OutboxEvent


def event_get(*, key: str) -> OutboxEvent | None:
    return OutboxEvent.objects.filter(key=key).first()


def deliveries_dead(*, limit: int = 100) -> QuerySet[Delivery]:
    """Deliveries that gave up, newest first."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.DEAD)
        .select_related("event")
        .order_by("-id")[: max(1, min(limit, 1000))]
    )


def pending_count() -> int:
    return Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
