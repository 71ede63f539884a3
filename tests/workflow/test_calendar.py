"""Working days: official 2004-2026 data, importable years, a flagged fallback (DOMAIN.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from onewindow import cli
from onewindow.kit.workdays import add_working_days, fallback_year, statutory_holidays
from onewindow.workflow.calendar import (
    CalendarImportError,
    DatabaseCalendar,
    calendar_year_import,
    deadline,
    missing_years,
)

pytestmark = pytest.mark.django_db
D = dt.date


def test_domain_examples():
    # 5 working days after 2025-09-26 skip the National Day / Mid-Autumn week: 2025-10-10.
    assert deadline(D(2025, 9, 26), 5).due_date == D(2025, 10, 10)
    # 1 working day after 2025-12-31: New Year's Day off, 2026-01-04 is a make-up Sunday.
    result = deadline(D(2025, 12, 31), 1)
    assert result.due_date == D(2026, 1, 4)
    assert result.provisional is False


def test_counting_starts_the_day_after_and_zero_is_the_same_day():
    assert deadline(D(2025, 3, 3), 0).due_date == D(2025, 3, 3)  # 即办件
    assert deadline(D(2025, 3, 3), 1).due_date == D(2025, 3, 4)  # Monday -> Tuesday
    assert deadline(D(2025, 3, 7), 1).due_date == D(2025, 3, 10)  # Friday -> Monday
    assert deadline(D(2025, 3, 3), 20).due_date == D(2025, 3, 31)


def test_statutory_fallback_has_the_13_days_of_the_2024_rules():
    days = statutory_holidays(2027)
    assert len(days) == 13
    assert days[D(2027, 1, 1)] == "元旦"
    assert [d for d, n in days.items() if n == "春节"] == [
        D(2027, 2, 5),
        D(2027, 2, 6),
        D(2027, 2, 7),
        D(2027, 2, 8),
    ]  # 除夕 to 初三
    assert days[D(2027, 4, 5)] == "清明节"
    assert days[D(2027, 6, 9)] == "端午节"
    assert days[D(2027, 9, 15)] == "中秋节"
    assert {D(2027, 10, 1), D(2027, 10, 2), D(2027, 10, 3)} <= set(days)


def test_a_year_without_data_is_provisional():
    result = deadline(D(2027, 9, 30), 1)  # Thu; Oct 1 (Fri) is a holiday, then the weekend
    assert result == type(result)(due_date=D(2027, 10, 4), provisional=True)
    # A span that reaches into such a year is provisional too.
    assert deadline(D(2026, 12, 30), 5).provisional is True
    assert deadline(D(2026, 12, 1), 5).provisional is False


def test_importing_a_year_makes_it_official_with_its_make_up_days(
    django_capture_on_commit_callbacks,
):
    assert 2027 in missing_years(around=D(2026, 11, 21))
    before = deadline(D(2027, 2, 4), 1)
    assert before.due_date == D(2027, 2, 9)  # fallback: 除夕 Fri, weekend, 初三 Mon off
    with django_capture_on_commit_callbacks(execute=True):  # the cached year is dropped on commit
        calendar_year_import(
            data={
                "year": 2027,
                "note": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
                "holidays": [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(5, 12)],
                "workdays": [{"date": "2027-02-13", "name": "春节"}],  # a Saturday worked
            }
        )
    after = deadline(D(2027, 2, 4), 1)
    assert after.provisional is False
    assert after.due_date == D(2027, 2, 12)  # the whole week off; Friday the 12th works
    assert deadline(D(2027, 2, 12), 1).due_date == D(2027, 2, 13)  # the make-up Saturday
    assert 2027 not in missing_years(around=D(2026, 11, 21))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"year": "2027"}, "year"),
        ({"year": 2027, "holidays": [{"date": "2028-01-01"}]}, "2028-01-01"),
        ({"year": 2027, "workdays": [{"date": "2027-02-10"}]}, "周末"),
        ({"year": 2027, "holidays": [{"date": "2027-01-01"}, {"date": "2027-01-01"}]}, "重复"),
    ],
)
def test_bad_calendar_files_change_nothing(data, message):
    with pytest.raises(CalendarImportError, match=message):
        calendar_year_import(data=data)
    assert 2027 in missing_years(around=D(2026, 11, 21))


def test_the_table_agrees_with_the_pure_fallback_for_missing_years():
    assert DatabaseCalendar().year_data(2030) == fallback_year(2030)
    official = DatabaseCalendar().year_data(2025)
    assert official.official is True
    assert D(2025, 10, 11) in official.workdays  # a Saturday worked after National Day


def test_api(client):
    body = client.get(
        "/api/v1/calendar/deadline", {"start": "2025-09-26", "working_days": 5}
    ).json()
    assert body == {"due_date": "2025-10-10", "provisional": False}
    bad = client.get("/api/v1/calendar/deadline", {"start": "2025-13-01", "working_days": 5})
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "start"
    negative = client.get("/api/v1/calendar/deadline", {"start": "2025-01-01", "working_days": -1})
    assert negative.status_code == 422


def test_cli_import_and_check_warning(tmp_path, capsys):
    from django.core.checks import run_checks

    assert "onewindow.W003" in {m.id for m in run_checks(databases=["default"])}
    source = tmp_path / "2027.yaml"
    source.write_text("year: 2027\nholidays:\n  - {date: 2027-01-01, name: 元旦}\n", "utf-8")
    assert cli.main(["calendar", "import", str(source)]) == 0
    assert "calendar 2027 imported (1 days)" in capsys.readouterr().out
    source.write_text("year: 2027\nworkdays:\n  - {date: 2027-01-04}\n", "utf-8")
    assert cli.main(["calendar", "import", str(source)]) == 1


def test_pure_arithmetic_rejects_absurd_spans():
    with pytest.raises(ValueError, match="working_days"):
        add_working_days(D(2025, 1, 1), -1, DatabaseCalendar())
