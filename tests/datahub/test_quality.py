"""Data quality: each kind of defect is found, counted and shown masked; the demo's documented
defects appear in the report; the CLI and the data steward's page."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from tests.conftest import page_login

from onewindow.datahub import demo as hub_demo
from onewindow.datahub import quality
from onewindow.datahub.keys import ID_NUMBER_PURPOSE
from onewindow.datahub.models import (
    Address,
    Dataset,
    DatasetRecord,
    LegalEntity,
    Person,
)
from onewindow.identity import crypto
from onewindow.kit.validators import id_number_check_char, uscc_check_char

pytestmark = pytest.mark.django_db

ALL_CHECKS = {
    "population": ["check_digits", "duplicates"],
    "legal_entity": ["check_digits", "duplicates"],
    "tax_arrears": ["check_digits", "duplicates", "stale"],
    "social_insurance": ["check_digits", "duplicates", "stale"],
    "customs_open_procedures": ["check_digits", "duplicates", "stale"],
    "pension_benefits": ["stale", "deceased_with_benefits"],
}


def counts(report) -> dict[str, dict[str, int]]:
    return {d.key: {c.check: c.count for c in d.checks} for d in report}


def defects_only(report) -> dict[str, dict[str, int]]:
    return {
        key: {check: n for check, n in checks.items() if n}
        for key, checks in counts(report).items()
        if any(checks.values())
    }


@pytest.fixture
def clean_hub(demo_city):
    """The demo hub without its seeded defects."""
    hub_demo.seed(persons=200, enterprises=20, defects=False)
    return hub_demo


def _person(id_number: str, name: str, birth: dt.date, address: Address, **extra) -> Person:
    ring = crypto.keyring()
    return Person.objects.create(
        id_number_encrypted=ring.encrypt(id_number, purpose=ID_NUMBER_PURPOSE),
        id_number_hash=ring.lookup_hash(id_number, purpose=ID_NUMBER_PURPOSE),
        name=name,
        sex="1",
        birth_date=birth,
        household_address=address,
        **extra,
    )


def _id(region: str, birth: dt.date, sequence: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def _uscc(body: str) -> str:
    first17 = "91990100" + body
    return first17 + uscc_check_char(first17)


@pytest.fixture
def defects(clean_hub):
    """Rows inserted directly (bypassing every check), one or more of each kind of defect:
    2 bad ID check digits, 1 duplicate person (registered twice), 1 bad USCC, 1 enterprise
    name under 2 USCCs, 1 tax record keyed twice, 2 stale social-insurance records,
    1 deceased person with an active pension (and one whose pension is stopped: no defect)."""
    address = Address.objects.order_by("pk").first()
    born = dt.date(1960, 5, 17)
    bad_a = _id("990102", born, 11)
    bad_b = _id("990103", born, 12)
    _person(bad_a[:17] + ("1" if bad_a[17] != "1" else "2"), "欧阳明月", born, address)
    _person(bad_b[:17] + ("3" if bad_b[17] != "3" else "4"), "司马光", born, address)
    twin_birth = dt.date(1971, 2, 3)
    _person(_id("990102", twin_birth, 21), "上官婉儿", twin_birth, address)
    _person(_id("990104", twin_birth, 23), "上官婉儿", twin_birth, address)

    representative = Person.objects.order_by("pk").first()
    bad_uscc = _uscc("MA1111111")[:17] + "0"
    if _uscc("MA1111111") == bad_uscc:
        bad_uscc = bad_uscc[:17] + "1"
    for uscc, name in (
        (bad_uscc, "示范市校验有限公司"),
        (_uscc("MA2222222"), "示范市同名有限公司"),
        (_uscc("MA3333333"), "示范市同名有限公司"),
    ):
        LegalEntity.objects.create(
            uscc=uscc,
            name=name,
            entity_type="limited_company",
            legal_representative=representative,
            registered_address=address,
            established_on=dt.date(2020, 1, 1),
        )

    today = dt.date.today()
    tax = Dataset.objects.get(key="tax_arrears")
    some = tax.records.order_by("pk").first()
    DatasetRecord.objects.create(
        dataset=tax, subject_key=f" {some.subject_key.lower()}", values=some.values, as_of=today
    )
    social = Dataset.objects.get(key="social_insurance")
    stale_keys = list(social.records.order_by("pk").values_list("subject_key", flat=True)[:2])
    social.records.filter(subject_key__in=stale_keys).update(as_of=today - dt.timedelta(days=40))
    # Exactly at the limit (31 days for monthly) is not stale yet.
    edge = social.records.exclude(subject_key__in=stale_keys).order_by("pk").first()
    social.records.filter(pk=edge.pk).update(as_of=today - dt.timedelta(days=31))

    pensions = Dataset.objects.get(key="pension_benefits")
    for name, status in (("诸葛亮", "active"), ("庞统", "stopped")):
        birth = dt.date(1940, 4, 4)
        person = _person(
            _id("990102", birth, 41 if status == "active" else 43),
            name,
            birth,
            address,
            status="deceased",
            death_date=dt.date(2025, 8, 1),
        )
        DatasetRecord.objects.create(
            dataset=pensions,
            subject_key=person.id_number_hash,
            values={
                "benefit_status": status,
                "monthly_amount": "1800.00",
                "paid_through": "2026-10",
            },
            as_of=today,
        )
    return {"bad_ids": [bad_a, bad_b], "stale": stale_keys, "tax_key": some.subject_key}


def test_a_clean_hub_has_no_defects_and_every_check_runs(clean_hub):
    report = quality.quality_report()
    assert {d.key: [c.check for c in d.checks] for d in report} == ALL_CHECKS
    assert defects_only(report) == {}
    population = next(d for d in report if d.key == "population")
    assert population.rows == Person.objects.count()


def test_each_kind_of_seeded_defect_is_counted_with_masked_examples(defects):
    report = quality.quality_report(examples=5)
    assert defects_only(report) == {
        "population": {"check_digits": 2, "duplicates": 1},
        "legal_entity": {"check_digits": 1, "duplicates": 1},
        "tax_arrears": {"duplicates": 1},
        "social_insurance": {"stale": 2},
        "pension_benefits": {"deceased_with_benefits": 1},
    }
    found = {d.key: {c.check: c for c in d.checks} for d in report}

    bad = found["population"]["check_digits"].examples
    assert [e.subject.split()[1] for e in bad] == ["欧***", "司**"]
    for example, id_number in zip(bad, defects["bad_ids"], strict=True):
        assert example.subject.startswith(id_number[:3] + "*" * 11)
        assert example.detail.startswith("check_digit: ")
    twins = found["population"]["duplicates"].examples
    assert [e.subject for e in twins] == ["上*** (1971)"]
    assert re.search(r"(?<!\d)2(?!\d)", twins[0].detail)  # two registrations (any language)

    assert found["legal_entity"]["check_digits"].examples[0].subject.endswith("示范市校验有限公司")
    same_name = found["legal_entity"]["duplicates"].examples[0]
    assert same_name.subject == "示范市同名有限公司"
    assert _uscc("MA2222222") in same_name.detail
    assert _uscc("MA3333333") in same_name.detail
    assert found["tax_arrears"]["duplicates"].examples[0].subject == defects["tax_key"]

    stale = found["social_insurance"]["stale"].examples
    assert sorted(e.subject for e in stale) == sorted(defects["stale"])
    assert all("40" in e.detail and "31" in e.detail for e in stale)
    dead = found["pension_benefits"]["deceased_with_benefits"].examples
    assert [e.subject for e in dead] == ["诸** (1940)"]
    assert "2025-08-01" in dead[0].detail

    # Never a clear ID number or a person's full name anywhere in the report.
    text = json.dumps(
        [[e.subject + e.detail for c in d.checks for e in c.examples] for d in report],
        ensure_ascii=False,
    )
    for clear in (*defects["bad_ids"], "欧阳明月", "司马光", "上官婉儿", "诸葛亮"):
        assert clear not in text
    for person in Person.objects.all()[:50]:
        assert person.name not in text or len(person.name) == 1


def test_the_number_of_examples_is_limited_but_not_the_count(defects):
    report = quality.quality_report(dataset_key="population", examples=1)
    assert [d.key for d in report] == ["population"]
    check = report[0].checks[0]
    assert (check.check, check.count, len(check.examples)) == ("check_digits", 2, 1)
    with pytest.raises(Dataset.DoesNotExist):
        quality.quality_report(dataset_key="no_such_dataset")


def test_the_demo_seeds_exactly_its_documented_defects(hub):
    assert defects_only(quality.quality_report()) == hub_demo.DEMO_DEFECTS


def test_the_demo_rows_have_lineage(hub):
    from onewindow.datahub.models import ImportBatch

    batches = ImportBatch.objects.filter(origin="generator")
    assert {b.dataset.key for b in batches} == set(ALL_CHECKS)
    assert all(b.status == "finished" and b.actor == hub_demo.GENERATOR_ACTOR for b in batches)
    assert not Person.objects.filter(import_batch__isnull=True).exists()
    assert not LegalEntity.objects.filter(import_batch__isnull=True).exists()
    assert not DatasetRecord.objects.filter(import_batch__isnull=True).exists()
    record = DatasetRecord.objects.select_related("import_batch").first()
    assert record.import_batch.dataset_id == record.dataset_id
    assert set(Person.objects.values_list("source_key", flat=True)) == {"population"}


def test_the_quality_command_prints_counts_and_examples(hub):
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    with pytest.raises(SystemExit) as status:
        call_command(
            "datahub_quality", "--dataset", "pension_benefits", "--examples", "2", stdout=out
        )
    assert status.value.code == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pension_benefits 养老保险待遇发放信息")
    assert lines[2].split()[:2] == ["deceased_with_benefits", "3"]
    assert len([line for line in lines if line.startswith("      - ")]) == 2

    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("datahub_quality", "--json", "--examples", "0", stdout=out)
    body = json.loads(out.getvalue())
    assert body[0]["dataset"] == "customs_open_procedures"
    assert {
        d["dataset"]: d["checks"]["duplicates"]["count"]
        for d in body
        if d["checks"].get("duplicates")
    }["legal_entity"] == 1
    assert all(not c["examples"] for d in body for c in d["checks"].values())

    with pytest.raises(CommandError):
        call_command("datahub_quality", "--dataset", "nope", stdout=io.StringIO())


def test_a_clean_dataset_exits_zero(clean_hub):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("datahub_quality", "--dataset", "customs_open_procedures", stdout=out)
    assert "customs_open_procedures" in out.getvalue()


def test_the_report_page_is_for_data_stewards_only(client, hub):
    from onewindow import demo

    url = "/datahub/quality/"
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]

    page_login(client, "clerk", demo.STAFF_PASSWORD)
    assert client.get(url).status_code == 403
    client.logout()
    page_login(client, "zhangsan", demo.CITIZEN_PASSWORD)
    assert client.get(url).status_code == 403
    client.logout()

    page_login(client, "steward", demo.STAFF_PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "养老保险待遇发放信息" in html
    assert "deceased_with_benefits" in html
    assert "generator:datahub.demo" in html  # the latest import batches (lineage)
    one = client.get(url, {"dataset": "legal_entity"})
    assert one.status_code == 200
    assert "养老保险待遇发放信息</h2>" not in one.content.decode()
    assert "示范市永安商贸有限公司" in one.content.decode()  # the demo's bad USCC, public data
    assert client.get(url, {"dataset": "nope"}).status_code == 404
