from __future__ import annotations

import logging

import pytest
from django.db import connection

from onewindow.audit.services import audit_record
from onewindow.audit.tasks import audit_chain_check_daily

pytestmark = pytest.mark.django_db


def test_daily_check_logs_the_head_as_an_anchor(caplog):
    last = None
    for i in range(3):
        last = audit_record(actor="system", action="test.anchor", object_id=i)
    with caplog.at_level(logging.INFO, logger="onewindow.audit"):
        audit_chain_check_daily.call_local()
    record = next(r for r in caplog.records if r.message == "audit chain verified")
    assert record.head_seq == last.seq
    assert record.head_hash == last.hash


def test_daily_check_raises_the_alarm_on_a_broken_chain(caplog):
    row = audit_record(actor="system", action="test.anchor")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET actor = 'x' WHERE id = %s", [row.pk])
    with caplog.at_level(logging.INFO, logger="onewindow.audit"):
        audit_chain_check_daily.call_local()
    record = next(r for r in caplog.records if r.message == "audit chain broken")
    assert record.levelno == logging.CRITICAL
    assert record.broken_seq == row.seq
