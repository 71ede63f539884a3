"""Bulk import: every row checked, a bad row changes nothing else, a per-row report, lineage."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import translation

from onewindow.datahub import importing
from onewindow.datahub.demo import problem_enterprise_uscc
from onewindow.datahub.keys import person_key
from onewindow.datahub.models import DatasetRecord, ImportBatch, LegalEntity, Person
from onewindow.identity import crypto
from onewindow.kit.crypto import sm3_hex
from onewindow.kit.validators import id_number_check_char, uscc_check_char

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
POPULATION_HEADER = (
    "id_number,name,sex,birth_date,household_region,household_address,status,death_date"
)


def an_id(birth: str, sequence: int, region: str = "990102") -> str:
    first17 = f"{region}{birth}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def wrong_check(value: str) -> str:
    return value[:17] + ("0" if value[17] != "0" else "1")


def run(dataset: str, text: str, name: str = "delivery.csv", **options):
    return importing.dataset_import(
        dataset_key=dataset,
        file_name=name,
        content=text.encode("utf-8"),
        actor="operator:test",
        **options,
    )


def by_row(report) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = {}
    for p in report.problems:
        found.setdefault(p.row, set()).add((p.column, p.code))
    return found


def test_population_import_checks_every_row_and_writes_only_the_valid_ones(hub):
    good_a, good_b = an_id("19800101", 11), an_id("19750505", 22)  # man, woman
    existing = "990102199003071014"  # 张三, already in the registry
    lines = [
        POPULATION_HEADER,
        f"{good_a},赵一,1,1980-01-01,990102,滨江路1号,,",  # row 2: valid
        f"{wrong_check(an_id('19800202', 33))},钱二,1,1980-02-02,990102,滨江路2号,,",  # 3
        f"{an_id('19800303', 45)},孙三,2,1980-03-03,990102,滨江路3号,,",  # 4: odd = man
        f"{an_id('19800404', 55)},李四四,1,1980-04-05,990102,滨江路4号,,",  # 5: birth date
        f"{an_id('19800606', 65)},周六,1,1980-06-06,990199,滨江路6号,,",  # 6: no such region
        f"{an_id('19400707', 75)},吴七,1,1940-07-07,990102,滨江路7号,deceased,",  # 7: no death
        f"{an_id('19800808', 85)},,3,80-08-08,990102,,alive,",  # 8: several problems
        f"{good_a},赵一,1,1980-01-01,990102,滨江路1号,,",  # 9: duplicate of row 2
        f"{existing},张三,1,1990-03-07,990102,市民大道1号,,",  # 10: already registered
        "",  # a blank line is skipped, row 11 does not count
        f"{good_b},郑二,2,1975-05-05,990103,和平路5号,deceased,2024-01-31",  # 12: valid
    ]
    before = Person.objects.count()
    with translation.override("zh-hans"):
        report = run("population", "\n".join(lines) + "\n")

    assert report.rows_total == 10  # the blank line is not a row
    assert report.rows_ok == 2
    assert report.rows_rejected == 8
    assert not report.file_rejected
    problems = by_row(report)
    assert problems[3] == {("id_number", "check_digit")}
    assert problems[4] == {("sex", "sex_mismatch")}
    assert problems[5] == {("birth_date", "birth_date_mismatch")}
    assert problems[6] == {("household_region", "unknown_region")}
    assert problems[7] == {("death_date", "required")}
    assert problems[8] == {
        ("name", "required"),
        ("sex", "invalid_choice"),
        ("birth_date", "invalid_date"),
        ("household_address", "required"),
    }
    assert problems[9] == {("id_number", "duplicate_in_file")}
    assert problems[10] == {("id_number", "already_registered")}
    assert set(problems) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert report.rejected_rows == [3, 4, 5, 6, 7, 8, 9, 10]
    # Row 11 is the blank line; rows are numbered as in the spreadsheet (header = 1).
    assert 11 not in problems
    assert 12 not in problems
    # Each problem names row, column, code and a message in Chinese (the CLI's language).
    check_digit = next(p for p in report.problems if p.code == "check_digit")
    assert check_digit.row == 3
    assert CJK.search(check_digit.message), check_digit.message
    required = next(p for p in report.problems if (p.row, p.column) == (8, "name"))
    assert CJK.search(required.message), required.message

    # Only the two valid rows were written, with their lineage.
    assert Person.objects.count() == before + 2
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.dataset.key == "population"
    assert batch.origin == "file"
    assert batch.file_name == "delivery.csv"
    assert batch.file_sm3 == sm3_hex(("\n".join(lines) + "\n").encode())
    assert batch.actor == "operator:test"
    assert (batch.rows_total, batch.rows_ok, batch.rows_rejected) == (10, 2, 8)
    assert batch.status == "finished"
    assert batch.finished_at is not None
    new = Person.objects.filter(import_batch=batch).order_by("birth_date")
    assert [p.name for p in new] == ["郑二", "赵一"]
    for person in new:
        assert person.source_key == "population"
        assert batch.started_at <= person.loaded_at <= batch.finished_at
    zheng = new[0]
    assert zheng.status == "deceased"
    assert zheng.death_date == dt.date(2024, 1, 31)
    # Stored exactly like persons_load: encrypted, with the look-up hash.
    assert zheng.id_number_hash == person_key(good_b)
    assert good_b not in zheng.id_number_encrypted
    assert crypto.keyring().decrypt(zheng.id_number_encrypted, purpose=crypto.ID_NUMBER) == good_b
    # The registry's own 张三 was not touched by the rejected row 10.
    zhangsan = Person.objects.get(id_number_hash=person_key(existing))
    assert zhangsan.import_batch != batch
    assert zhangsan.name == "张三"


def test_a_bad_row_changes_nothing_else_even_for_a_subject_already_there(hub):
    """A delivery of tax records: the good rows replace their subjects' records, the bad row's
    subject keeps its old record (values, as of, batch) untouched."""
    problem = problem_enterprise_uscc()
    clean = LegalEntity.objects.order_by("pk").values_list("uscc", flat=True)[3]
    untouched = DatasetRecord.objects.get(dataset__key="tax_arrears", subject_key=problem)
    text = "\n".join(
        [
            "uscc,in_arrears,arrears_amount,overdue_since,as_of",
            f"{clean},是,1234.5,2026-01-15,",  # row 2: valid
            f"{problem},perhaps,12.00,,",  # row 3: not a yes/no
            f"{clean[:17]}{'0' if clean[17] != '0' else '1'},false,0,,",  # row 4: check digit
            ",false,0,,",  # row 5: no subject
            f"{clean},否,0,,",  # row 6: same subject again
            f"{problem},false,lots,2099-01-01,",  # row 7: amount, future date
        ]
    )
    report = run("tax_arrears", text, chunk_size=1)
    problems = by_row(report)
    assert report.rows_ok == 1
    assert problems[3] == {("in_arrears", "invalid_boolean")}
    assert ("uscc", "check_digit") in problems[4]
    assert problems[5] == {("uscc", "required")}
    assert problems[6] == {("uscc", "duplicate_in_file")}
    assert problems[7] == {
        ("arrears_amount", "invalid_decimal"),
        ("overdue_since", "future_date"),
        ("uscc", "duplicate_in_file"),  # row 3 is the same subject, bad or not
    }
    written = DatasetRecord.objects.get(dataset__key="tax_arrears", subject_key=clean)
    assert written.values == {
        "in_arrears": True,
        "arrears_amount": "1234.50",
        "overdue_since": "2026-01-15",
    }
    assert written.import_batch_id == report.batch_id
    assert written.as_of == dt.date.today()
    after = DatasetRecord.objects.get(pk=untouched.pk)
    assert (after.values, after.as_of, after.import_batch_id, after.loaded_at) == (
        untouched.values,
        untouched.as_of,
        untouched.import_batch_id,
        untouched.loaded_at,
    )


def test_records_of_unknown_subjects_are_refused_and_as_of_is_kept(hub):
    entity = LegalEntity.objects.order_by("pk")[4]
    first17 = "91990100MA" + "1234567"
    stranger = first17 + uscc_check_char(first17)
    text = (
        "uscc,insured_employees,paid_through,unpaid_months,unpaid_amount,as_of\n"
        f"{entity.uscc},12,2026-09,1,3200,2026-10-31\n"
        f"{stranger},3,2026-10,0,0,\n"
        f"{entity.uscc.lower()}x,3,2026-10,zero,0,\n"
    )
    report = run("social_insurance", text)
    problems = by_row(report)
    assert problems[3] == {("uscc", "subject_unknown")}
    assert ("unpaid_months", "invalid_integer") in problems[4]
    record = DatasetRecord.objects.get(dataset__key="social_insurance", subject_key=entity.uscc)
    assert record.as_of == dt.date(2026, 10, 31)
    assert record.values["insured_employees"] == 12
    assert record.values["unpaid_amount"] == "3200.00"
    assert record.import_batch_id == report.batch_id


def test_a_wrong_header_rejects_the_whole_file(hub):
    before = Person.objects.count()
    text = "id_number,name,sex,birth_date,household_region,nickname\n" + (
        f"{an_id('19800101', 11)},赵一,1,1980-01-01,990102,小赵\n"
    )
    report = run("population", text)
    assert report.file_rejected
    assert report.rows_total == 1
    assert report.rows_rejected == 1
    assert {(p.row, p.column, p.code) for p in report.problems} == {
        (1, "nickname", "unknown_column"),
        (1, "household_address", "missing_column"),
    }
    assert report.batch_id is None
    assert Person.objects.count() == before
    assert not ImportBatch.objects.filter(origin="file").exists()


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("people.txt", b"id_number\n", "file_type"),
        ("people.csv", "姓名".encode("gbk"), "encoding"),
        ("people.xlsx", b"not a zip file", "unreadable"),
        ("people.csv", b"\n\n", "no_header"),
    ],
)
def test_unreadable_files_are_reported_not_raised(hub, name, content, code):
    report = importing.dataset_import(
        dataset_key="population", file_name=name, content=content, actor="operator:test"
    )
    assert [p.code for p in report.problems] == [code]
    assert report.file_rejected


def test_dry_run_checks_and_writes_nothing(hub):
    before = Person.objects.count()
    text = f"{POPULATION_HEADER}\n{an_id('19800101', 11)},赵一,1,1980-01-01,990102,滨江路1号,,\n"
    report = run("population", text, dry_run=True)
    assert report.rows_ok == 1
    assert report.problems == []
    assert report.batch_id is None
    assert Person.objects.count() == before
    assert not ImportBatch.objects.filter(origin="file").exists()


def test_csv_with_a_bom_and_chunks_of_two(hub):
    rows = [
        f"{an_id('1980' + f'{m:02d}' + '01', 11)},赵{m},1,1980-{m:02d}-01,990102,滨江路{m}号,,"
        for m in range(1, 8)
    ]
    content = ("\ufeff" + POPULATION_HEADER + "\r\n" + "\r\n".join(rows)).encode("utf-8")
    report = importing.dataset_import(
        dataset_key="population",
        file_name="BOM.CSV",
        content=content,
        actor="operator:test",
        chunk_size=2,
    )
    assert report.problems == []
    assert report.rows_ok == 7
    assert Person.objects.filter(import_batch_id=report.batch_id).count() == 7


def test_excel_workbook_with_date_cells(hub):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(POPULATION_HEADER.split(","))
    good = an_id("19851212", 21)
    sheet.append([good, "冯十", "1", dt.date(1985, 12, 12), 990102, "学府路9号", None, None])
    sheet.append([an_id("19851213", 31), "陈十一", 1, "1985-12-14", "990102", "学府路10号"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = importing.dataset_import(
        dataset_key="population",
        file_name="户籍.xlsx",
        content=buffer.getvalue(),
        actor="operator:test",
    )
    assert by_row(report) == {3: {("birth_date", "birth_date_mismatch")}}
    assert report.rows_ok == 1
    person = Person.objects.get(id_number_hash=person_key(good))
    assert person.birth_date == dt.date(1985, 12, 12)
    assert person.import_batch_id == report.batch_id


def test_legal_entity_import_needs_the_representative_in_the_registry(hub):
    first17 = "91990100MA" + "7654321"
    new_uscc = first17 + uscc_check_char(first17)
    other17 = "91990100MA" + "7654322"
    orphan = other17 + uscc_check_char(other17)
    existing = LegalEntity.objects.order_by("pk").first()
    header = (
        "uscc,name,entity_type,legal_representative,legal_representative_id_number,"
        "registered_region,registered_address,status,established_on"
    )
    text = "\n".join(
        [
            header,
            f"{new_uscc},示范市新开办有限公司,limited_company,张三,990102199003071014,"
            "990100,市民大道8号,,2026-03-01",
            f"{orphan},示范市无主有限公司,limited_company,,{an_id('19700101', 11)},"
            "990100,市民大道9号,,2026-03-01",
            f"{existing.uscc},重复登记有限公司,limited_company,李四,990102199003071014,"
            "990100,市民大道10号,,2026-03-01",
            f"{orphan[:-1]}#,坏代码,company,张四,990102199003071014,990100,路,,2026-13-01",
        ]
    )
    report = run("legal_entity", text)
    problems = by_row(report)
    assert report.rows_ok == 1
    assert problems[3] == {("legal_representative_id_number", "representative_unknown")}
    assert problems[4] == {
        ("uscc", "already_registered"),
        ("legal_representative", "representative_mismatch"),
    }
    assert problems[5] == {
        ("uscc", "charset"),
        ("entity_type", "invalid_choice"),
        ("established_on", "invalid_date"),
    }
    entity = LegalEntity.objects.get(uscc=new_uscc)
    assert entity.source_key == "legal_entity"
    assert entity.import_batch_id == report.batch_id
    assert entity.legal_representative.name == "张三"


def test_the_management_command_prints_the_report_and_fails_on_rejected_rows(hub, tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "people.csv"
    path.write_text(
        f"{POPULATION_HEADER}\n"
        f"{an_id('19800101', 11)},赵一,1,1980-01-01,990102,滨江路1号,,\n"
        f"{wrong_check(an_id('19800102', 11))},钱二,1,1980-01-02,990102,滨江路2号,,\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("datahub_import", "population", str(path), "--dry-run", stdout=out, stderr=err)
    assert exit_status.value.code == 1
    assert len(err.getvalue().splitlines()) == 1
    assert re.search(r"\b3\b.*id_number.*\[check_digit\]", err.getvalue()), err.getvalue()
    summary = out.getvalue().split(path.name, 1)[1].split("SM3", 1)[1]  # after the digest
    summary = summary.split(")", 1)[1] if ")" in summary else summary.split("）", 1)[1]
    assert re.search(r"\b2\D+1\D+1\b", summary), summary
    assert not ImportBatch.objects.filter(origin="file").exists()

    with pytest.raises(SystemExit):
        call_command("datahub_import", "population", str(path), stdout=out, stderr=err)
    assert ImportBatch.objects.filter(origin="file", rows_ok=1, rows_rejected=1).count() == 1

    with pytest.raises(CommandError):
        call_command("datahub_import", "no_such_dataset", str(path), stdout=out, stderr=err)


def test_a_failure_while_writing_keeps_the_chunks_written_and_marks_the_batch(hub, monkeypatch):
    from onewindow.datahub import services

    real_load, calls = services.persons_load, []

    def failing_second_chunk(**kwargs):
        calls.append(len(kwargs["rows"]))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_load(**kwargs)

    monkeypatch.setattr(services, "persons_load", failing_second_chunk)
    rows = [
        f"{an_id('1981' + f'{m:02d}' + '01', 11)},赵{m},1,1981-{m:02d}-01,990102,滨江路{m}号,,"
        for m in range(1, 6)
    ]
    with pytest.raises(RuntimeError):
        run("population", "\n".join([POPULATION_HEADER, *rows]), chunk_size=2)
    batch = ImportBatch.objects.get(origin="file")
    assert batch.status == "failed"
    assert (batch.rows_total, batch.rows_ok) == (5, 2)
    assert calls == [2, 2]
    assert Person.objects.filter(import_batch=batch).count() == 2
