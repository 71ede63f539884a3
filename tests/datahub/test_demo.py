"""The demo hub: valid, deterministic, consistent, fast, idempotent."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from onewindow.datahub import demo as hub_demo
from onewindow.kit.validators import (
    id_number_birth_date,
    id_number_is_male,
    validate_id_number,
    validate_uscc,
)

DAY = dt.date(2026, 11, 21)


@pytest.fixture(scope="module")
def generated():
    return hub_demo.generate(persons=3000, enterprises=300, today=DAY)


def test_generation_is_deterministic(generated):
    again = hub_demo.generate(persons=3000, enterprises=300, today=DAY)
    assert again == generated
    other = hub_demo.generate(persons=3000, enterprises=300, today=DAY, random_seed=7)
    assert [p.id_number for p in other.persons[3:]] != [p.id_number for p in generated.persons[3:]]


def test_every_id_number_and_uscc_is_valid_and_unique(generated):
    ids = [p.id_number for p in generated.persons]
    assert len(set(ids)) == len(ids) == 3000
    for person in generated.persons:
        result = validate_id_number(person.id_number, extra_provinces=["99"])
        assert result.valid, (person.id_number, result.rule)
        assert person.id_number[:6] in {"990102", "990103", "990104"}
        assert person.region_code == person.id_number[:6]
        assert id_number_birth_date(person.id_number) == person.birth_date
        assert (person.sex == "1") == id_number_is_male(person.id_number)
        if person.status == "deceased":
            assert person.death_date > person.birth_date
    usccs = [e.uscc for e in generated.entities]
    assert len(set(usccs)) == len(usccs) == 300
    for entity in generated.entities:
        result = validate_uscc(entity.uscc, extra_provinces=["99"])
        assert result.valid, (entity.uscc, result.rule)
        assert entity.uscc[2:8] == "990100"
    representatives = set(ids)
    assert all(e.representative_id_number in representatives for e in generated.entities)


def test_the_demo_people_and_the_pre_check_situations(generated):
    from onewindow import demo

    citizens = {a.id_number: a.display_name for a in demo.CITIZENS}
    assert {p.id_number: p.name for p in generated.persons[:3]} == citizens
    first, problem = generated.entities[0], generated.entities[1]
    assert first.uscc == demo.ENTERPRISE_USCC
    assert first.name == demo.ENTERPRISE_NAME
    assert citizens[first.representative_id_number] == "李四"
    assert problem.uscc == hub_demo.problem_enterprise_uscc()
    assert citizens[problem.representative_id_number] == "王五"

    def values(dataset: str, uscc: str) -> dict:
        return dict(generated.records[dataset])[uscc]

    assert values("tax_arrears", problem.uscc)["in_arrears"] is True
    assert values("social_insurance", problem.uscc)["unpaid_months"] >= 1
    assert values("customs_open_procedures", problem.uscc)["open_procedures"] == 2
    assert values("tax_arrears", first.uscc)["in_arrears"] is False
    assert values("social_insurance", first.uscc)["unpaid_months"] == 0
    assert values("social_insurance", first.uscc)["paid_through"] == "2026-10"
    assert values("customs_open_procedures", first.uscc)["open_procedures"] == 0
    # Other enterprises in arrears exist too, but few.
    in_arrears = sum(v["in_arrears"] for _k, v in generated.records["tax_arrears"])
    assert 2 <= in_arrears <= 30


@pytest.mark.django_db
def test_seeding_ten_thousand_persons_is_fast_and_idempotent(demo_city):
    from onewindow.datahub.models import DatasetRecord, LegalEntity, Person

    started = time.monotonic()
    counts = hub_demo.seed()
    elapsed = time.monotonic() - started
    # 7 defect persons and 2 defect enterprises on top (DEMO_DEFECTS).
    assert counts["persons_added"] == 10_007
    assert counts["legal_entities_added"] == 1_002
    assert Person.objects.count() == 10_007
    assert LegalEntity.objects.count() == 1_002
    pensions = counts["pension_benefits"]
    assert 1_000 < pensions < 4_000
    assert DatasetRecord.objects.count() == 3_000 + 1 + pensions  # +1: the tax key with a space
    assert elapsed < 30, f"seeding took {elapsed:.1f} s"

    again = hub_demo.seed()
    assert again["persons_added"] == 0
    assert again["legal_entities_added"] == 0
    assert Person.objects.count() == 10_007


@pytest.mark.django_db
def test_the_management_command_needs_the_demo_city_then_seeds(demo_city):
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("datahub_demo", "--persons", "50", "--enterprises", "5", stdout=out)
    counts = json.loads(out.getvalue())
    assert counts["persons_added"] == 50
    assert counts["legal_entities_added"] == 5
    assert counts["tax_arrears"] == 5


@pytest.mark.django_db
def test_the_management_command_refuses_without_the_demo_city():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="onewindow demo"):
        call_command("datahub_demo", "--persons", "50", "--enterprises", "5")


@pytest.mark.django_db
def test_hub_reset_lets_the_demo_city_reset(demo_city):
    from onewindow.datahub.models import AccessLog, Dataset, Person
    from onewindow.datahub.services import access_log_append
    from onewindow.org.models import Department

    hub_demo.seed(persons=20, enterprises=3)
    access_log_append(actor="client:x", dataset_key="population", outcome="refused")
    counts = hub_demo.reset()
    assert counts["person"] == 20
    assert counts["customs"] == 1
    assert not Person.objects.exists()
    assert not Dataset.objects.exists()
    assert not Department.objects.filter(code="customs").exists()
    assert AccessLog.objects.count() == 1  # the log outlives the reset
    demo_city.reset()  # would fail on a department still referred to by the hub
    assert Department.objects.filter(code="market").exists()
