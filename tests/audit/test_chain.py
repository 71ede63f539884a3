"""The audit trail is append-only and SM3-chained; any edit is found and named."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from onewindow import cli
from onewindow.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from onewindow.audit.services import audit_chain_verify, audit_record
from onewindow.kit.crypto import sm3_hex


def _record(n: int) -> list[AuditEntry]:
    return [
        audit_record(
            actor=f"user{i}",
            action="test.action",
            object_type="test",
            object_id=i,
            object_repr=f"对象{i}",
            ip="127.0.0.1",
            detail={"i": i, "名": "张三"},
        )
        for i in range(n)
    ]


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_rows_are_chained_from_genesis():
    rows = _record(3)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash
    assert len({r.hash for r in rows}) == 3
    head = AuditChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (3, rows[2].hash)
    report = audit_chain_verify()
    assert report.ok
    assert report.checked == 3


@pytest.mark.django_db
def test_empty_trail_verifies():
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_hash_is_sm3_over_previous_hash_and_content():
    row = _record(1)[0]
    # Recompute independently of the service: change one byte of content, the hash changes.
    assert len(row.hash) == 64
    assert row.hash != sm3_hex((row.prev_hash + "{}").encode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory"),
        ("action", "auth.login"),
        ("outcome", "failure"),
        ("object_repr", "别的对象"),
        ("ip", "10.0.0.9"),
        ("request_id", "forged"),
        ("detail", '{"i": 99}'),
        ("occurred_at", "2020-01-01 00:00:00+00:00"),
    ],
)
def test_editing_any_column_breaks_the_chain_at_that_row(column, value):
    rows = _record(5)
    target = rows[2]
    if column == "occurred_at" and connection.vendor == "sqlite":
        value = "2020-01-01 00:00:00"
    _raw(f"UPDATE audit_auditentry SET {column} = %s WHERE id = %s", [value, target.pk])  # noqa: S608
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_seq == target.seq
    assert report.broken_id == target.pk
    assert "edited" in report.reason


@pytest.mark.django_db
def test_recomputing_one_rows_hash_breaks_the_next_link():
    rows = _record(4)
    _raw(
        "UPDATE audit_auditentry SET actor = %s, hash = %s WHERE id = %s",
        ["mallory", "f" * 64, rows[1].pk],
    )
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_seq == rows[1].seq  # its content no longer matches the stored hash


@pytest.mark.django_db
def test_deleting_a_middle_row_is_found():
    rows = _record(5)
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [rows[1].pk])
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_seq == rows[2].seq
    assert "gap" in report.reason


@pytest.mark.django_db
def test_deleting_the_last_rows_is_found_through_the_head():
    rows = _record(5)
    _raw("DELETE FROM audit_auditentry WHERE seq >= %s", [4])
    report = audit_chain_verify()
    assert not report.ok
    assert report.checked == 3
    assert "head" in report.reason
    assert rows[3].seq == report.broken_seq


@pytest.mark.django_db
def test_the_model_refuses_updates_and_deletes():
    row = _record(1)[0]
    row.actor = "mallory"
    with pytest.raises(RuntimeError, match="append-only"):
        row.save()
    with pytest.raises(RuntimeError, match="append-only"):
        row.delete()


@pytest.mark.django_db
def test_cli_audit_verify_exit_code_and_message(capsys):
    rows = _record(3)
    assert cli.main(["audit", "verify"]) == 0
    assert "3 rows verified" in capsys.readouterr().out
    _raw("UPDATE audit_auditentry SET actor = %s WHERE id = %s", ["mallory", rows[1].pk])
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"seq {rows[1].seq} (id {rows[1].pk})" in err
    assert "BROKEN" in err


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    """Eight threads, each with its own database connection, append at once."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                audit_record(actor=f"t{n}", action="test.concurrent", object_id=i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEntry.objects.count() == 120
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 121))
    report = audit_chain_verify()
    assert report.ok, report.reason
