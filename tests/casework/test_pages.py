"""The application pages and the staff workbench, used the way a browser uses them: forms
posted with CSRF-free test clients, errors read back from the HTML."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from tests.casework.conftest import (
    FOOD_MATERIALS,
    PDF,
    act,
    food_answers,
    food_submitted,
    open_item,
)
from tests.conftest import demo_account, page_login

from onewindow.casework import errors as casework_errors
from onewindow.casework.models import Application, Status
from onewindow.workflow.errors import TASK_VERSION_CONFLICT

pytestmark = pytest.mark.django_db


def _login(username: str) -> Client:
    client = Client()
    response = page_login(client, username, demo_account(username)["password"])
    assert response.status_code == 302, response.content[:500]
    return client


def _text(message: Any) -> str:
    """A message as the (Chinese) page shows it, HTML-escaped."""
    with translation.override("zh-hans"):
        return html.escape(str(message))


def _form(answers: dict[str, Any], version: int, then: str = "stay") -> dict[str, Any]:
    """The edit form as a browser posts it."""
    data: dict[str, Any] = {"version": version, "then": then}
    for key, value in answers.items():
        if isinstance(value, dict):
            data[f"f-{key}-region"] = value["region"]
            data[f"f-{key}-detail"] = value["detail"]
        else:
            data[f"f-{key}"] = value
    return data


def _upload(client: Client, application: Application, key: str, data: bytes = PDF) -> Any:
    return client.post(
        f"/applications/{application.public_id}/materials/",
        {"material_key": key, "file": SimpleUploadedFile(f"{key}.pdf", data)},
    )


def _page(response: Any) -> str:
    return response.content.decode()


def test_a_citizen_drafts_fixes_every_problem_and_submits(city):
    client = _login("zhangsan")
    page = _page(client.get("/services/food_business_license/apply/"))
    assert "食品经营许可" in page
    assert 'type="submit"' in page
    response = client.post("/services/food_business_license/apply/")
    assert response.status_code == 302
    application = Application.objects.get(applicant__username="zhangsan")
    edit = f"/applications/{application.public_id}/edit/"
    assert response["Location"] == edit

    page = _page(client.get(edit))
    assert '<label for="field-operator_name">' in page
    assert 'name="f-operator_name"' in page
    assert "免提交" in page  # the business licence comes from the e-license library

    # A first, incomplete save: a wrong phone number and no name.
    partial = food_answers(contact_phone="123")
    del partial["operator_name"]
    response = client.post(edit, _form(partial, application.version, then="check"))
    assert response["Location"] == f"/applications/{application.public_id}/check/"
    assert _upload(client, application, "license_application").status_code == 302
    refused = client.post(
        f"/applications/{application.public_id}/materials/",
        {"material_key": "safety_rules", "file": SimpleUploadedFile("rules.pdf", b"not a pdf")},
    )
    assert refused.status_code == 415
    assert _text(casework_errors.MATERIAL_TYPE_NOT_ALLOWED.message) in _page(refused)
    assert 'id="material-safety_rules-error"' in _page(refused)

    check = f"/applications/{application.public_id}/check/"
    page = _page(client.get(check))
    assert "经营者名称" in page
    assert "联系人手机号码" in page
    assert "经营场所平面图和设备布局、操作流程图" in page
    assert "食品安全管理制度" in page
    assert f"{edit}?problems=1#field-contact_phone" in page
    assert f"/applications/{application.public_id}/submit/" not in page  # no Submit yet
    client.post(f"/applications/{application.public_id}/submit/")
    application.refresh_from_db()
    assert application.status == Status.DRAFT

    # The edit page points at the wrong answer, with the message tied to the input.
    page = _page(client.get(f"{edit}?problems=1"))
    assert 'id="field-contact_phone-error"' in page
    assert re.search(
        r'id="field-contact_phone"[^>]*aria-describedby="[^"]*field-contact_phone'
        r'-error"',
        page,
    )

    client.post(edit, _form(food_answers(), application.version))
    for key in ("layout_plan", "safety_rules"):
        assert _upload(client, application, key).status_code == 302
    page = _page(client.get(check))
    assert f"/applications/{application.public_id}/submit/" in page
    assert "示范小吃店" in page
    assert "热食类食品制售" in page
    assert "中心区 市民大道2号" in page

    response = client.post(f"/applications/{application.public_id}/submit/", follow=True)
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert application.number
    page = _page(response)
    assert response.redirect_chain[-1][0] == f"/applications/{application.number}/"
    assert application.number in page
    assert "ow-messages" in page
    assert application.number in _page(client.get("/applications/"))


def test_a_stale_save_keeps_what_was_typed(city):
    client = _login("zhangsan")
    client.post("/services/food_business_license/apply/")
    application = Application.objects.get(applicant__username="zhangsan")
    edit = f"/applications/{application.public_id}/edit/"
    seen = application.version
    client.post(edit, _form({"operator_name": "第一个名字"}, seen))
    response = client.post(edit, _form({"operator_name": "我的新名字"}, seen))
    assert response.status_code == 409
    page = _page(response)
    assert _text(casework_errors.APPLICATION_VERSION_CONFLICT.message) in page
    assert 'value="我的新名字"' in page
    assert "第一个名字" in page
    application.refresh_from_db()
    assert application.form_data == {"operator_name": "第一个名字"}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Save as a draft" in _page(client.get(edit))  # the language switch works here too


def test_the_clerk_sees_the_application_and_accepts_it_from_the_task_page(city):
    application = food_submitted()
    clerk = _login("clerk")
    page = _page(clerk.get("/workbench/"))
    assert application.number in page
    assert "食品经营许可" in page
    assert "ow-light--green" in page  # a colour, and the words with it
    item = open_item(application.number, "accept")
    task = f"/workbench/tasks/{item.pk}/"
    assert task in _page(clerk.get(f"/workbench/?number={application.number}"))
    assert "No task of yours" not in _page(clerk.get(f"/workbench/?number={application.number}"))

    page = _page(clerk.get(task))
    assert 'name="action" value="accept"' in page
    assert 'name="action" value="not_accept"' in page
    assert 'name="version"' in page
    assert "csrfmiddlewaretoken" in page
    response = clerk.post(task, {"form": "step", "action": "accept", "version": item.version})
    assert response.status_code == 302
    assert response["Location"] == "/workbench/"
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW


def test_an_opinion_required_by_the_step_is_asked_for_next_to_the_box(city):
    application = food_submitted()
    item = open_item(application.number, "accept")
    clerk = _login("clerk")
    response = clerk.post(
        f"/workbench/tasks/{item.pk}/",
        {"form": "step", "action": "not_accept", "version": item.version, "opinion": "  "},
    )
    assert response.status_code == 422
    assert 'id="step-opinion-error"' in _page(response)
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


def test_a_stale_task_version_shows_the_conflict_and_changes_nothing(city):
    application = food_submitted()
    item = open_item(application.number, "accept")
    stale = item.version
    act("clerk", item, "claim")  # someone (here: the clerk in another tab) got there first
    clerk = _login("clerk")
    response = clerk.post(
        f"/workbench/tasks/{item.pk}/",
        {"form": "step", "action": "not_accept", "version": stale, "opinion": "我写的意见"},
    )
    assert response.status_code == 409
    page = _page(response)
    assert _text(TASK_VERSION_CONFLICT.message) in page
    assert "我写的意见" in page  # what was typed is kept
    item.refresh_from_db()
    application.refresh_from_db()
    assert item.status == "open"
    assert application.status == Status.SUBMITTED
    assert f'name="version" value="{item.version}"' in page  # the page shows the task as it is


def test_a_reviewer_lists_every_correction_at_once_and_the_citizen_sees_them(city):
    application = food_submitted()
    act("clerk", open_item(application.number, "accept"), "accept")
    item = open_item(application.number, "market_review")
    reviewer = _login("market_reviewer")
    task = f"/workbench/tasks/{item.pk}/"
    page = _page(reviewer.get(task))
    assert 'value="field:premises_area"' in page
    assert 'value="material:layout_plan"' in page

    # A ticked item without a reason is pointed out; nothing is sent.
    missing = reviewer.post(
        task,
        {
            "form": "supplement",
            "version": item.version,
            "items": ["field:premises_area", "material:layout_plan"],
            "reason-field:premises_area": "面积与平面图不一致",
        },
    )
    assert missing.status_code == 422
    assert 'id="sup-reason-material-layout_plan-error"' in _page(missing)
    assert "面积与平面图不一致" in _page(missing)  # kept
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW

    response = reviewer.post(
        task,
        {
            "form": "supplement",
            "version": item.version,
            "items": ["field:premises_area", "material:layout_plan"],
            "reason-field:premises_area": "面积与平面图不一致",
            "reason-material:layout_plan": "平面图未标注面积",
            "opinion": "请一次性补正",
        },
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.SUPPLEMENT

    citizen = _login("zhangsan")
    page = _page(citizen.get(f"/applications/{application.number}/"))
    assert "面积与平面图不一致" in page
    assert "平面图未标注面积" in page
    assert "经营场所面积（平方米）" in page
    assert "经营场所平面图和设备布局、操作流程图" in page
    # A paused case is still found by its number on the workbench.
    found = _page(reviewer.get(f"/workbench/?number={application.number}"))
    assert f"/workbench/tasks/{item.pk}/" in found
    edit = f"/applications/{application.number}/edit/"
    assert f"{edit}#field-premises_area" in page
    assert f"{edit}#material-layout_plan" in page
    assert "working days left" in page or "个工作日" in page  # the paused clock is explained


def test_anonymous_visitors_are_sent_to_log_in(city):
    client = Client()
    for url in (
        "/applications/",
        "/workbench/",
        "/applications/abc/edit/",
        "/services/food_business_license/apply/",
        "/workbench/file/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_a_citizen_cannot_open_another_citizens_application(city):
    application = food_submitted()
    lisi = _login("lisi")
    for suffix in ("", "edit/", "check/"):
        assert lisi.get(f"/applications/{application.number}/{suffix}").status_code == 404
    assert lisi.post(f"/applications/{application.number}/submit/").status_code == 404
    assert application.number not in _page(lisi.get("/applications/"))
    assert _login("zhangsan").get(f"/applications/{application.number}/").status_code == 200


def test_staff_see_only_their_department_and_roles(city):
    application = food_submitted()
    act("clerk", open_item(application.number, "accept"), "accept")
    market = open_item(application.number, "market_review")
    health = _login("health_reviewer")
    assert health.get(f"/workbench/tasks/{market.pk}/").status_code == 404
    assert (
        health.post(
            f"/workbench/tasks/{market.pk}/", {"form": "claim", "version": market.version}
        ).status_code
        == 404
    )
    assert (
        health.get(
            f"/workbench/tasks/{open_item(application.number, 'hygiene_review').pk}/"
        ).status_code
        == 200
    )
    assert _login("zhangsan").get("/workbench/").status_code == 403
    assert _login("market_reviewer").get("/workbench/overdue/").status_code == 403
    assert _login("market_head").get("/workbench/overdue/").status_code == 200


def test_the_clerk_files_for_zhangsan_by_id_number(city):
    clerk = _login("clerk")
    page = _page(clerk.get("/workbench/file/"))
    assert 'value="food_business_license"' in page
    assert '<label for="citizen_id_number">' in page
    unknown = clerk.post(
        "/workbench/file/",
        {"service": "food_business_license", "citizen_id_number": "110101199003071234"},
    )
    assert unknown.status_code == 422
    page = _page(unknown)
    assert _text(casework_errors.CITIZEN_NOT_REGISTERED.message) in page
    assert 'id="citizen_id_number-error"' in page
    assert 'value="110101199003071234"' in page

    response = clerk.post(
        "/workbench/file/",
        {
            "service": "food_business_license",
            "citizen_id_number": demo_account("zhangsan")["id_number"],
        },
    )
    assert response.status_code == 302
    application = Application.objects.get(applicant__username="zhangsan")
    assert application.filed_by is not None
    assert application.filed_by.username == "clerk"
    assert application.channel == "counter"
    assert response["Location"] == f"/applications/{application.public_id}/edit/"
    edit = response["Location"]
    assert clerk.get(edit).status_code == 200
    clerk.post(edit, _form(food_answers(), application.version))
    for key in FOOD_MATERIALS:
        assert _upload(clerk, application, key).status_code == 302
    clerk.post(f"/applications/{application.public_id}/submit/")
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert str(application.number) in _page(_login("zhangsan").get("/applications/"))


def test_suspend_resume_and_an_extension_decided_by_the_head(city):
    application = food_submitted()
    act("clerk", open_item(application.number, "accept"), "accept")
    item = open_item(application.number, "market_review")
    reviewer = _login("market_reviewer")
    task = f"/workbench/tasks/{item.pk}/"
    page = _page(reviewer.get(task))
    assert 'name="form" value="suspend"' in page
    assert 'name="form" value="extend"' in page

    no_reason = reviewer.post(
        task, {"form": "suspend", "version": item.version, "opinion": "组织专家评审"}
    )
    assert no_reason.status_code == 422
    assert 'id="suspend-reason-error"' in _page(no_reason)
    assert "组织专家评审" in _page(no_reason)
    reviewer.post(
        task,
        {
            "form": "suspend",
            "version": item.version,
            "reason": "expert_review",
            "opinion": "组织专家评审",
        },
    )
    application.refresh_from_db()
    assert application.status == Status.SUSPENDED
    item.refresh_from_db()
    assert 'name="form" value="resume"' in _page(reviewer.get(task))
    reviewer.post(task, {"form": "resume", "version": item.version})
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW

    item.refresh_from_db()
    reviewer.post(task, {"form": "extend", "version": item.version, "opinion": "需现场复核"})
    head = _login("market_head")
    page = _page(head.get("/workbench/"))
    found = re.search(r'href="(/workbench/tasks/\d+/)"', page)
    assert found is not None
    head_task = found.group(1)
    head_item = open_item(application.number, "extension")
    assert head_task == f"/workbench/tasks/{head_item.pk}/"
    page = _page(head.get(head_task))
    assert 'name="action" value="approve"' in page
    assert 'name="action" value="refuse"' in page
    head.post(head_task, {"form": "step", "action": "approve", "version": head_item.version})
    application.refresh_from_db()
    assert application.extension_days == 10
    assert "需现场复核" in _page(_login("zhangsan").get(f"/applications/{application.number}/"))
