"""Exactly-once under concurrency, on SQLite and on PostgreSQL (scripts/test runs both)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from tests.casework.conftest import food_draft, open_item, subject_for

from onewindow.casework import services
from onewindow.casework.models import Application, TimelineEvent
from onewindow.kit.errors import ApiError
from onewindow.workflow.models import WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls):
    """Run the calls in threads released together; return their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # reported to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_clerks_accepting_one_item_at_once_one_wins_one_gets_409(demo_catalog):
    application = services.application_submit(
        subject=subject_for("zhangsan"), application=food_draft()
    )
    item = open_item(application.number, "accept")
    version = item.version
    clerks = [subject_for("clerk"), subject_for("clerk2")]

    def accept(subject):
        return lambda: services.task_act(
            subject=subject, item_id=item.pk, version=version, action="accept"
        )

    results = _race(*(accept(s) for s in clerks))
    wins = [r for r in results if isinstance(r, services.ActionResult)]
    conflicts = [r for r in results if isinstance(r, ApiError)]
    assert len(wins) == 1, results
    assert len(conflicts) == 1
    assert conflicts[0].error.code == "TASK_VERSION_CONFLICT"
    assert conflicts[0].error.status == 409
    item.refresh_from_db()
    assert item.status == "done"
    assert item.version == version + 1
    # The work happened once: one acceptance, one set of review items.
    assert TimelineEvent.objects.filter(application=application, kind="accepted").count() == 1
    assert (
        WorkItem.objects.filter(case_number=application.number, step="market_review").count() == 1
    )


def test_concurrent_submissions_never_share_a_number(demo_catalog):
    drafts = [food_draft(u) for u in ("zhangsan", "lisi", "zhangsan", "lisi", "wangwu", "wangwu")]
    owners = ["zhangsan", "lisi", "zhangsan", "lisi", "wangwu", "wangwu"]
    results = _race(
        *(
            (lambda d=d, o=o: services.application_submit(subject=subject_for(o), application=d))
            for d, o in zip(drafts, owners, strict=True)
        )
    )
    assert all(isinstance(r, Application) for r in results), results
    numbers = sorted(Application.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 6
    assert [n[-5:] for n in numbers] == ["00001", "00002", "00003", "00004", "00005", "00006"]
