"""The application lifecycle through the services: parallel review, acceptance, decisions,
supplement (补正), suspension (中止), extension (延期) and the clock in working days."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.casework.conftest import act, food_draft, food_submitted, open_item, subject_for

from onewindow.casework import services
from onewindow.casework.models import Application, Status
from onewindow.events.models import OutboxEvent
from onewindow.kit.errors import ApiError
from onewindow.workflow.models import WorkItem

pytestmark = pytest.mark.django_db


def _kinds(application: Application) -> list[str]:
    return list(application.timeline.values_list("kind", flat=True))


def test_parallel_review_from_submission_to_completion(city, on_day):
    on_day(dt.date(2025, 9, 25))
    application = food_submitted()
    number = application.number
    assert re.fullmatch(rf"{application.service_item.implementation_code}2025092500001", number)
    assert application.status == Status.SUBMITTED
    accept = open_item(number, "accept")
    assert accept.department.code == "gov_services"
    assert accept.role == "window_clerk"

    on_day(dt.date(2025, 9, 26))
    act("clerk", accept, "accept")
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW
    assert application.due_date == dt.date(2025, 10, 10)  # DOMAIN.md: 5 working days
    market = open_item(number, "market_review")
    hygiene = open_item(number, "hygiene_review")
    assert (market.department.code, hygiene.department.code) == ("market", "health")
    assert market.due_at == dt.date(2025, 10, 10)  # 7 days for the step, capped by the case

    act("health_reviewer", hygiene, "pass")
    assert not WorkItem.objects.filter(case_number=number, step="decide").exists()
    act("market_reviewer", market, "pass", opinion="现场核查符合要求")
    act("market_approver", open_item(number, "decide"), "approve")
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    act("clerk", open_item(number, "deliver"), "complete")
    application.refresh_from_db()
    assert application.status == Status.COMPLETED
    assert _kinds(application) == [
        "created",
        "submitted",
        "step_done",
        "accepted",
        "step_done",
        "step_done",
        "step_done",
        "approved",
        "step_done",
        "completed",
    ]
    names = set(OutboxEvent.objects.values_list("name", flat=True))
    assert {
        "application.submitted",
        "application.accepted",
        "task.assigned",
        "application.approved",
        "application.completed",
    } <= names


def test_a_branch_whose_condition_is_false_is_not_started(city):
    application = food_submitted(operator_type="food_sales", business_items=["bulk_food"])
    act("clerk", open_item(application.number, "accept"), "accept")
    steps = set(
        WorkItem.objects.filter(case_number=application.number).values_list("step", flat=True)
    )
    assert steps == {"accept", "market_review"}


def test_numbers_follow_the_daily_serial(city, on_day):
    on_day(dt.date(2025, 9, 25))
    first, second = food_submitted(), food_submitted("lisi")
    on_day(dt.date(2025, 9, 26))
    third = food_submitted()
    assert [a.number[-13:] for a in (first, second, third)] == [
        "2025092500001",
        "2025092500002",
        "2025092600001",
    ]


def test_not_accepted_needs_a_reason_that_the_applicant_sees(city):
    application = food_submitted()
    item = open_item(application.number, "accept")
    with pytest.raises(ApiError) as error:
        act("clerk", item, "not_accept")
    assert error.value.error.code == "OPINION_REQUIRED"
    act("clerk", item, "not_accept", opinion="经营场所不在本市辖区")
    application.refresh_from_db()
    assert application.status == Status.NOT_ACCEPTED
    assert application.outcome_reason == "经营场所不在本市辖区"
    from onewindow.casework.selectors import timeline

    shown = timeline(application=application, staff=False)
    assert any(e.opinion == "经营场所不在本市辖区" for e in shown)


def test_supplement_pauses_and_resumes_the_clock_to_the_exact_day(city, on_day):
    on_day(dt.date(2025, 9, 25))
    application = food_submitted()
    number = application.number
    on_day(dt.date(2025, 9, 26))
    act("clerk", open_item(number, "accept"), "accept")
    application.refresh_from_db()
    assert application.due_date == dt.date(2025, 10, 10)

    # Monday 29 September: three working days are left (30 Sep, 9 Oct, 10 Oct).
    on_day(dt.date(2025, 9, 29))
    act(
        "market_reviewer",
        open_item(number, "market_review"),
        "supplement",
        opinion="请补正以下材料",
        items=[
            {"key": "layout_plan", "reason": "平面图未标注面积"},
            {"key": "premises_area", "reason": "面积与平面图不一致"},
        ],
    )
    application.refresh_from_db()
    assert application.status == Status.SUPPLEMENT
    assert application.due_date is None
    assert application.remaining_days == 3
    assert set(
        WorkItem.objects.filter(case_number=number, status="paused").values_list("step", flat=True)
    ) == {"market_review", "hygiene_review"}

    # Only one request, listing everything (一次性告知).
    with pytest.raises(ApiError) as error:
        act("health_reviewer", open_item(number, "hygiene_review"), "supplement", items=[])
    assert error.value.error.code in ("TASK_NOT_OPEN", "SUPPLEMENT_ITEMS_REQUIRED")

    # The applicant corrects everything and returns it on Monday 13 October.
    zhangsan = subject_for("zhangsan")
    application = services.application_update(
        subject=zhangsan,
        application=application,
        form_data={**application.form_data, "premises_area": 95},
        version=application.version,
    )
    services.material_upload(
        subject=zhangsan,
        application=application,
        material_key="layout_plan",
        name="plan-v2.pdf",
        data=b"%PDF-1.7\n% corrected\n%%EOF\n",
    )
    on_day(dt.date(2025, 10, 13))
    application = services.application_submit(subject=zhangsan, application=application)
    assert application.status == Status.IN_REVIEW
    # 3 working days after 13 October: 14, 15, 16.
    assert application.due_date == dt.date(2025, 10, 16)
    assert open_item(number, "market_review").due_at == dt.date(2025, 10, 16)
    assert application.supplements.get().returned_at is not None
    assert list(
        application.material_files.filter(material_key="layout_plan").values_list(
            "version", "current"
        )
    ) == [(1, False), (2, True)]


def test_supplement_lists_must_name_real_items_with_reasons(city):
    application = food_submitted()
    item = open_item(application.number, "accept")
    with pytest.raises(ApiError) as error:
        act("clerk", item, "supplement", items=[{"key": "nope", "reason": ""}])
    assert error.value.error.code == "SUPPLEMENT_ITEMS_REQUIRED"
    assert {d.field for d in error.value.details} == {"items[0].key", "items[0].reason"}
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED  # nothing changed


def test_suspension_stops_the_clock_and_extension_adds_ten_days(city, on_day):
    on_day(dt.date(2025, 9, 25))
    application = food_submitted()
    number = application.number
    on_day(dt.date(2025, 9, 26))
    act("clerk", open_item(number, "accept"), "accept")
    on_day(dt.date(2025, 9, 29))
    market = open_item(number, "market_review")
    with pytest.raises(ApiError):
        act("market_reviewer", market, "suspend", reason="coffee")
    act("market_reviewer", market, "suspend", reason="expert_review", opinion="组织专家评审")
    application.refresh_from_db()
    assert application.status == Status.SUSPENDED
    assert application.remaining_days == 3
    on_day(dt.date(2025, 10, 20))
    act("market_reviewer", open_item(number, "market_review"), "resume")
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW
    assert application.due_date == dt.date(2025, 10, 23)  # 21, 22, 23

    with pytest.raises(ApiError) as error:
        act("market_reviewer", open_item(number, "market_review"), "extend")
    assert error.value.error.code == "OPINION_REQUIRED"
    result = act(
        "market_reviewer",
        open_item(number, "market_review"),
        "extend",
        opinion="需现场复核，申请延期",
    )
    head_item = result.created[0]
    assert head_item.role == "department_head"
    assert head_item.department.code == "market"
    with pytest.raises(ApiError):  # only the head decides
        act("market_reviewer", head_item, "approve")
    act("market_head", head_item, "approve")
    application.refresh_from_db()
    assert application.extension_days == 10
    assert application.due_date == dt.date(2025, 11, 6)  # 10 working days after 23 October
    assert open_item(number, "market_review").due_at == dt.date(2025, 11, 6)
    extended = OutboxEvent.objects.get(name="application.extended")
    assert extended.payload["reason"] == "需现场复核，申请延期"
    with pytest.raises(ApiError) as error:
        act("market_reviewer", open_item(number, "market_review"), "extend", opinion="再次")
    assert error.value.error.code == "EXTENSION_ALREADY_REQUESTED"


def test_staff_outside_the_department_or_role_cannot_act(city):
    application = food_submitted()
    item = open_item(application.number, "accept")
    for username in ("market_reviewer", "health_reviewer"):
        with pytest.raises(ApiError) as error:
            act(username, item, "accept")
        assert error.value.error.code == "NOT_FOUND"


def test_a_stale_version_changes_nothing(city):
    application = food_submitted()
    item = open_item(application.number, "accept")
    stale = item.version
    act("clerk", item, "claim")
    with pytest.raises(ApiError) as error:
        services.task_act(
            subject=subject_for("clerk"), item_id=item.pk, version=stale, action="accept"
        )
    assert error.value.error.code == "TASK_VERSION_CONFLICT"
    item.refresh_from_db()
    assert item.status == "open"
    assert item.assignee.username == "clerk"
    with pytest.raises(ApiError) as error:
        act("clerk2", item, "accept")
    assert error.value.error.code == "TASK_CLAIMED_BY_OTHER"


def test_submission_lists_every_problem_at_once(city):
    from onewindow.casework.services import application_create

    subject = subject_for("zhangsan")
    draft = application_create(
        subject=subject,
        service_code="food_business_license",
        form_data={"operator_type": "catering", "contact_phone": "123"},
    )
    with pytest.raises(ApiError) as error:
        services.application_submit(subject=subject, application=draft)
    fields = {d.field for d in error.value.details}
    assert "form_data.contact_phone" in fields
    assert "form_data.operator_name" in fields
    assert {"materials.license_application", "materials.layout_plan"} <= fields
    assert "materials.business_license" not in fields  # an e-license: 免提交
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.form_data["operator_type"] == "catering"


def test_a_clerk_files_for_a_registered_walk_in_citizen(city):
    from onewindow import demo

    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    clerk = subject_for("clerk")
    with pytest.raises(ApiError) as error:
        services.application_create(
            subject=clerk,
            service_code="food_business_license",
            citizen_id_number="110101199003071234",
        )
    assert error.value.error.code == "CITIZEN_NOT_REGISTERED"
    application = services.application_create(
        subject=clerk,
        service_code="food_business_license",
        citizen_id_number=zhangsan.id_number,
    )
    assert application.applicant.username == "zhangsan"
    assert application.filed_by.username == "clerk"
    assert application.channel == "counter"
    from onewindow.casework.selectors import applications_mine

    assert application in applications_mine(subject=subject_for("zhangsan"))


def test_draft_answers_are_kept_and_unknown_keys_dropped(city):
    draft = food_draft()
    subject = subject_for("zhangsan")
    seen = draft.version
    updated = services.application_update(
        subject=subject,
        application=draft,
        form_data={"operator_name": "新名字", "evil": 1},
        version=seen,
    )
    assert updated.form_data == {"operator_name": "新名字"}
    with pytest.raises(ApiError) as error:
        services.application_update(subject=subject, application=draft, form_data={}, version=seen)
    assert error.value.error.code == "APPLICATION_VERSION_CONFLICT"


def test_red_items_are_escalated_to_the_head_once(city, on_day):
    from onewindow.casework.tasks import overdue_scan_periodic
    from onewindow.identity.models import User

    on_day(dt.date(2025, 9, 25))
    application = food_submitted()
    item = open_item(application.number, "accept")
    # 5 working days: 26 and 28 (a make-up Sunday), 29, 30 September, 9 October.
    assert item.due_at == dt.date(2025, 10, 9)
    # Yellow once at most 2 working days remain (30 September and 9 October): from the 29th.
    assert item.warn_at == dt.date(2025, 9, 29)
    assert item.light(dt.date(2025, 9, 26)) == "green"
    assert item.light(dt.date(2025, 10, 8)) == "yellow"
    assert item.light(dt.date(2025, 10, 9)) == "yellow"
    assert item.light(dt.date(2025, 10, 10)) == "red"
    assert services.overdue_scan(day=dt.date(2025, 10, 9)) == 0
    on_day(dt.date(2025, 10, 13))
    overdue_scan_periodic.call_local()
    overdue_scan_periodic.call_local()
    events = OutboxEvent.objects.filter(name="task.overdue")
    assert events.count() == 1
    heads = set(
        User.objects.filter(
            staff__department__code="gov_services", roles__role="department_head"
        ).values_list("pk", flat=True)
    )
    assert heads
    event = events.get()
    assert event.payload["audience"] == {
        "department_id": item.department_id,
        "role": "department_head",
    }
    from onewindow.events.services import deliver_due
    from onewindow.notify.models import Notification

    deliver_due()
    told = Notification.objects.filter(event=event).values_list("recipient_id", flat=True)
    assert heads <= set(told)
    from onewindow.identity.access import _person_subject
    from onewindow.workflow.selectors import overdue

    head = User.objects.get(pk=min(heads))
    red = overdue(subject=_person_subject(head, mfa=True), today=dt.date(2025, 10, 13))
    assert [i.pk for i in red] == [item.pk]


def test_inbox_filters_by_light_in_sql(city, on_day):
    from onewindow.workflow.selectors import inbox

    on_day(dt.date(2025, 9, 25))
    first, second = food_submitted(), food_submitted("lisi")
    on_day(dt.date(2025, 9, 26))
    act("clerk", open_item(first.number, "accept"), "accept")
    clerk = subject_for("clerk")
    # The second one still waits for acceptance, due 9 October, yellow from 29 September.
    day = dt.date(2025, 9, 29)
    assert [i.case_number for i in inbox(subject=clerk, today=day, light="yellow")] == [
        second.number
    ]
    assert list(inbox(subject=clerk, today=day, light="red")) == []
    assert [
        i.case_number for i in inbox(subject=clerk, today=dt.date(2025, 10, 10), light="red")
    ] == [second.number]
    reviewer = subject_for("market_reviewer")
    assert [i.step for i in inbox(subject=reviewer, today=day)] == ["market_review"]
    assert [i.case_number for i in inbox(subject=clerk, today=day, number=first.number)] == []
