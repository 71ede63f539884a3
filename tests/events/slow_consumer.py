"""A slow database consumer for ``test_worker_kill``, installed only by ``worker_settings``
(the subprocesses of that test); it never exists in the platform's own settings.

Each delivery writes one audit row naming the event (a table with no uniqueness to hide a
second delivery) and then sleeps, so a worker killed at a random moment is usually inside a
handler's transaction.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.apps import AppConfig

ACTION = "test.slow_consumer"
CONSUMER = "test.slow"


def slow(event: Any) -> None:
    from onewindow.audit.services import audit_record

    audit_record(actor="system", action=ACTION, object_id=event.pk, object_repr=event.key)
    time.sleep(float(os.environ.get("ONEWINDOW_TEST_SLOW_SECONDS", "0.03")))


class SlowConsumerConfig(AppConfig):
    name = "tests.events.slow_consumer"
    label = "events_test_slow_consumer"
    verbose_name = "test: slow consumer"

    def ready(self) -> None:
        from onewindow.events.names import EVENT_NAMES
        from onewindow.events.registry import register

        register(CONSUMER, EVENT_NAMES, slow)
