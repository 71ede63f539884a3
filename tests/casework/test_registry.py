"""Forms that fill themselves from the registries (免填) and the cross-check of typed answers
with them (跨部门材料自动比对): the applicant's own data only, every read in the access log."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests.casework.conftest import subject_for
from tests.conftest import demo_account, page_login

pytestmark = pytest.mark.django_db

SERVICE = "resident_medical_insurance"  # applicant_name person.name, applicant_id_number ...


@pytest.fixture
def hub(city):
    from onewindow.datahub import demo as hub_demo

    hub_demo.seed(persons=50, enterprises=5)
    return city


def _registry_person(username: str) -> Any:
    from onewindow.datahub.models import Person
    from onewindow.identity.models import User

    user = User.objects.get(username=username)
    return Person.objects.get(id_number_hash=user.citizen.id_number_hash)


def _log(**filters: Any) -> list[Any]:
    from onewindow.datahub.models import AccessLog

    return list(AccessLog.objects.filter(**filters).order_by("id"))


def _account(username: str) -> Any:
    from onewindow import demo

    return next(a for a in demo.CITIZENS if a.username == username)


def test_a_draft_is_filled_from_the_applicants_own_registry_entry(hub):
    from onewindow.casework import services

    for username in ("zhangsan", "lisi"):
        draft = services.application_create(subject=subject_for(username), service_code=SERVICE)
        person = _registry_person(username)
        assert draft.form_data["applicant_name"] == person.name
        assert draft.form_data["applicant_id_number"] == _account(username).id_number
        assert sorted(draft.prefilled) == ["applicant_id_number", "applicant_name"]
        # Other people's fields (a newborn, a child) carry other elements: never filled.
        assert "child_id_number" not in draft.form_data
        [row] = _log(subject_key=person.id_number_hash, purpose=services.PREFILL_PURPOSE)
        assert row.actor == username
        assert sorted(row.fields) == ["id_number", "name"]
        assert row.outcome == "allowed"
        assert row.response_digest


def test_a_typed_answer_is_never_overwritten(hub):
    from onewindow.casework import services

    draft = services.application_create(
        subject=subject_for("zhangsan"),
        service_code=SERVICE,
        form_data={"applicant_name": "张三丰"},
    )
    assert draft.form_data["applicant_name"] == "张三丰"
    assert draft.prefilled == ["applicant_id_number"]


def test_acting_for_an_enterprise_fills_the_enterprises_data_not_the_persons(hub):
    from onewindow import demo
    from onewindow.casework import services
    from onewindow.identity.models import Enterprise

    subject = subject_for("lisi")
    subject.acting_for = Enterprise.objects.get(uscc=demo.ENTERPRISE_USCC)
    draft = services.application_create(subject=subject, service_code="enterprise_change")
    assert draft.form_data["enterprise_name"] == demo.ENTERPRISE_NAME
    assert draft.form_data["uscc"] == demo.ENTERPRISE_USCC
    assert sorted(draft.prefilled) == ["enterprise_name", "uscc"]
    assert _log(subject_key=demo.ENTERPRISE_USCC, purpose=services.PREFILL_PURPOSE)


def test_without_a_registry_entry_nothing_is_filled_and_the_miss_is_logged(hub):
    from onewindow.casework import services
    from onewindow.datahub.models import Person

    person = _registry_person("zhangsan")
    Person.objects.filter(pk=person.pk).delete()
    draft = services.application_create(subject=subject_for("zhangsan"), service_code=SERVICE)
    assert draft.prefilled == []
    assert "applicant_name" not in draft.form_data
    [row] = _log(subject_key=person.id_number_hash)
    assert row.outcome == "not_found"


def _submitted(hub: Any, **answers: Any) -> Any:
    from onewindow.casework import services

    subject = subject_for("zhangsan")
    draft = services.application_create(
        subject=subject,
        service_code=SERVICE,
        form_data={
            "insured_type": "adult",
            "applicant_phone": "13800000001",
            "household_type": "local",
            **answers,
        },
    )
    _cleaned, problems = services.application_problems(draft)
    assert problems == []
    return services.application_submit(subject=subject, application=draft)


def _client(username: str) -> Client:
    client = Client()
    account = demo_account(username)
    response = page_login(
        client, username, account["password"], totp_secret=account.get("totp_secret")
    )
    assert response.status_code == 302
    return client


def test_answers_differing_from_the_registry_are_flagged_to_the_reviewer_only(hub):
    from onewindow.casework import services
    from onewindow.casework.models import Application
    from onewindow.events.services import deliver_due

    application = _submitted(hub, applicant_name="张叁")  # the registry says 张三
    deliver_due()  # the cross-check runs as an outbox consumer after the commit
    application = Application.objects.get(pk=application.pk)
    assert application.form_data["applicant_name"] == "张叁"  # never changed
    assert application.registry_checked_at is not None
    assert application.registry_checks == [
        {
            "field": "applicant_name",
            "label": "申请人姓名",
            "element": "person.name",
            "registry": "张*",
        }
    ]
    person = _registry_person("zhangsan")
    [row] = _log(subject_key=person.id_number_hash, purpose=services.CHECK_PURPOSE)
    assert row.actor == "system"
    assert row.case_number == application.number

    # The reviewer sees the difference (API and task page); the applicant does not.
    number = application.number
    staff = _client("clerk")
    assert staff.get(f"/api/v1/applications/{number}").json()["registry_checks"][0]["field"] == (
        "applicant_name"
    )
    from onewindow.workflow.models import WorkItem

    item = WorkItem.objects.get(case_number=number, status="open")
    page = staff.get(f"/workbench/tasks/{item.pk}/").content.decode()
    assert "申请人姓名" in page
    assert "张*" in page
    citizen = _client("zhangsan")
    assert citizen.get(f"/api/v1/applications/{number}").json()["registry_checks"] == []
    # The applicant sees the platform's read on "who accessed my data".
    log = citizen.get("/api/v1/me/access-log").json()
    assert services.CHECK_PURPOSE in {r["purpose"] for r in log["items"]}


def test_matching_answers_raise_no_flag(hub):
    from onewindow.casework.models import Application
    from onewindow.events.services import deliver_due

    application = _submitted(hub)  # the prefilled answers, untouched
    deliver_due()
    application = Application.objects.get(pk=application.pk)
    assert application.registry_checked_at is not None
    assert application.registry_checks == []


def test_the_applicant_sees_these_reads_in_plain_words(hub):
    from onewindow.events.services import deliver_due

    _submitted(hub, applicant_name="张叁")
    deliver_due()
    page = _client("zhangsan").get("/me/data/access-log/").content.decode()
    assert "您本人（根据您的数据自动填表）" in page
    assert "平台（自动比对）" in page
    assert "公民身份号码、姓名" in page  # the data elements' names, not the field keys
    assert ">zhangsan<" not in page
