from __future__ import annotations

import pytest
from django.db import transaction

from onewindow.events import services as events
from onewindow.events.models import OutboxEvent


@pytest.fixture
def people(demo_city):
    from onewindow.identity.models import User

    return {u.username: u for u in User.objects.filter(username__in=["zhangsan", "lisi", "clerk"])}


@pytest.fixture
def notify_event():
    """Emit an event in its own transaction and deliver it synchronously."""

    def emit(name: str, key: str, **payload) -> OutboxEvent:
        with transaction.atomic():
            event = events.emit(name, payload, key=key)
        events.deliver_due()
        return event

    return emit
