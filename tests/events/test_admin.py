"""An operator (the system administrator) can see dead deliveries in the console; nobody can
change the outbox there."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from tests.conftest import demo_account, page_login

from onewindow.events import names, services

pytestmark = pytest.mark.django_db


def console(username: str) -> Client:
    client = Client()
    account = demo_account(username)
    page_login(client, username, account["password"], totp_secret=account["totp_secret"])
    return client


def test_the_system_admin_sees_dead_deliveries_read_only(demo_city, isolated_consumers, settings):
    settings.ONEWINDOW_EVENT_MAX_ATTEMPTS = 1

    def broken(event):
        raise RuntimeError("webhook answered 500")

    isolated_consumers.register("test.broken", [names.TASK_OVERDUE], broken)
    with transaction.atomic():
        event = services.emit(names.TASK_OVERDUE, {}, key="overdue:1")
    assert services.deliver_due().dead == 1

    sysadmin = console("sysadmin")
    listing = sysadmin.get("/admin/events/delivery/?status__exact=dead")
    assert listing.status_code == 200
    assert "test.broken" in listing.content.decode()
    detail = sysadmin.get(f"/admin/events/outboxevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert "webhook answered 500" in detail.content.decode()
    assert sysadmin.get("/admin/events/delivery/add/").status_code == 403
    assert sysadmin.post(f"/admin/events/outboxevent/{event.pk}/delete/").status_code == 403

    auditor = console("auditor")
    assert auditor.get("/admin/events/delivery/").status_code == 403
