"""一件事一次办 in the portal, as a browser sees it: life events lead to their bundles, a bundle's
guide lists its member items, the pre-check page lists every blocking matter at once, and the
page of a submitted bundle is its task list (each part with its department)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from tests.casework.conftest import (
    FOOD_MATERIALS,
    PDF,
    act,
    food_answers,
    open_item,
    subject_for,
)
from tests.conftest import demo_account, page_login

from onewindow.casework.models import Application, Status

pytestmark = pytest.mark.django_db

RESTAURANT = "restaurant_opening_bundle"
CLOSING = "enterprise_closing_bundle"
SIGN_ANSWERS = {
    "sign_text": "示范小吃",
    "sign_type": "wall",
    "sign_size": "3×1",
    "illuminated": "no",
    "install_date": "2026-12-01",
}
SIGN_MATERIALS = ("signboard_application", "sign_design")


@pytest.fixture
def hub(city):
    """The demo city with the data hub's records: the first enterprise (李四's) is clean, the
    second (王五's 滨江进出口) owes taxes and social insurance and has open customs matters."""
    from onewindow.datahub import demo as hub_demo

    hub_demo.seed(persons=50, enterprises=5)
    return city


def _login(username: str, enterprise: str = "") -> Client:
    client = Client()
    response = page_login(client, username, demo_account(username)["password"])
    assert response.status_code == 302, response.content[:500]
    if enterprise:
        response = client.post("/accounts/enterprises/", {"uscc": enterprise})
        assert response.status_code == 302, response.content[:500]
    return client


def _text(msgid: str, **values: Any) -> str:
    """An interface text as the (Chinese) page shows it, HTML-escaped: the tests hold whether
    or not it is translated yet."""
    with translation.override("zh-hans"):
        text = gettext(msgid)
    return html.escape(text % values if values else text)


def _page(response: Any) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _section(page: str, heading_id: str) -> str:
    """The <section> labelled by ``heading_id``."""
    found = re.search(
        rf'<section[^>]*aria-labelledby="{heading_id}"[^>]*>(.*?)</section>', page, re.S
    )
    assert found, f"no section {heading_id}"
    return found.group(1)


def _staff(item: Any) -> str:
    """A demo account holding the work item's role in its department."""
    from onewindow import demo

    return next(
        a.username
        for a in demo.STAFF
        if a.department == item.department.code and a.role == item.role
    )


def _restaurant_submitted(username: str = "zhangsan") -> Application:
    """A restaurant bundle (food licence + outdoor sign) submitted by ``username``."""
    from onewindow.casework import services

    subject = subject_for(username)
    draft = services.application_create(
        subject=subject, service_code=RESTAURANT, form_data={**food_answers(), **SIGN_ANSWERS}
    )
    for key in (*FOOD_MATERIALS, *SIGN_MATERIALS):
        services.material_upload(
            subject=subject, application=draft, material_key=key, name=f"{key}.pdf", data=PDF
        )
    return services.application_submit(subject=subject, application=draft)


# --- life events lead to their bundles ---------------------------------------------------------


def test_a_life_event_page_shows_its_bundles_first(city, client):
    page = _page(client.get("/services/?event=open_business"))
    bundles = _section(page, "bundles-heading")
    assert page.index('id="bundles-heading"') < page.index('id="results-heading"')
    for key, name in (
        (RESTAURANT, "开办餐饮店“一件事”"),
        ("enterprise_opening_bundle", "企业开办"),
    ):
        assert f'href="/services/{key}/"' in bundles
        assert f'href="/services/{key}/apply/"' in bundles  # the entry of every application
        assert name in bundles
    # Each card names its member items and their departments.
    assert "食品经营许可" in bundles
    assert "示范市市场监督管理局" in bundles
    assert "户外招牌设施设置" in bundles
    assert "示范市住房和城乡建设局" in bundles
    assert "newborn_bundle" not in bundles  # another life event's

    # The pre-check is offered where the bundle has one.
    closing = _section(_page(client.get("/services/?event=close_business")), "bundles-heading")
    assert f'href="/services/{CLOSING}/precheck/"' in closing
    assert "/precheck/" not in bundles

    # Filtered for individuals, the bundle only for enterprises is left out.
    personal = _page(client.get("/services/?event=open_business&audience=natural_person"))
    assert RESTAURANT in _section(personal, "bundles-heading")
    assert "enterprise_opening_bundle/apply" not in personal

    # No life event chosen: no bundle section.
    assert 'id="bundles-heading"' not in _page(client.get("/services/?q=营业执照"))


def test_the_home_page_leads_to_the_bundles(city, client):
    page = _page(client.get("/"))
    bundles = _section(page, "bundles-heading")
    assert page.index('id="bundles-heading"') < page.index('id="events-heading"')
    for key in ("newborn_bundle", "enterprise_opening_bundle", CLOSING, RESTAURANT):
        assert f'href="/services/{key}/"' in bundles
    assert "/services/newborn_bundle/apply/" in bundles


# --- the guide of a bundle ---------------------------------------------------------------------


def test_a_bundle_guide_lists_its_members_in_order_and_what_waits(city, client):
    page = _page(client.get("/services/newborn_bundle/"))
    members = _section(page, "members-heading")
    rows = re.findall(r"<tr>(.*?)</tr>", members.split("<tbody>")[1], re.S)
    names = [re.search(r'<a href="/services/([a-z_]+)/">', row).group(1) for row in rows]
    assert names == [
        "birth_medical_certificate",
        "newborn_household_registration",
        "social_security_card",
        "resident_medical_insurance",
    ]
    assert "示范市卫生健康委员会" in rows[0]
    assert "示范市公安局" in rows[1]
    assert _text("at once, when the application is accepted") in rows[0]
    waits = _text(
        "waits for %(names)s: starts by itself once approved", names="出生医学证明首次签发"
    )
    assert waits in rows[1]
    assert "/precheck/" not in page  # no pre-check for this one
    # The merged form is listed by group: the shared fields, then each member's.
    assert "<h3>共同信息（各事项共用，只填一次）</h3>" in page
    assert page.count("<h3>共同信息（各事项共用，只填一次）</h3>") == 1

    closing = _page(client.get(f"/services/{CLOSING}/"))
    assert f'href="/services/{CLOSING}/precheck/"' in _section(closing, "members-heading")

    ordinary = _page(client.get("/services/food_business_license/"))
    assert 'id="members-heading"' not in ordinary


def test_the_apply_page_of_a_bundle_names_its_members(city):
    page = _page(_login("zhangsan").get(f"/services/{RESTAURANT}/apply/"))
    assert "食品经营许可" in page
    assert "示范市市场监督管理局" in page
    assert "户外招牌设施设置" in page
    assert "示范市住房和城乡建设局" in page


# --- the pre-check ---------------------------------------------------------------------------


def test_the_pre_check_passes_for_the_clean_demo_enterprise(hub):
    from onewindow import demo
    from onewindow.datahub.models import AccessLog

    path = f"/services/{CLOSING}/precheck/"
    client = _login("lisi")
    # For himself the check cannot run: the bundle is for enterprises.
    page = _page(client.get(path))
    assert _text("The pre-check cannot run") in page
    assert 'href="/accounts/enterprises/"' in page
    assert not AccessLog.objects.exists()

    client.post("/accounts/enterprises/", {"uscc": demo.ENTERPRISE_USCC})
    page = _page(client.get(path))
    assert "ow-status--approved" in page
    assert _text("Passed") in page
    assert _text("Checked for %(name)s.", name=demo.ENTERPRISE_NAME) in page
    assert f'href="/services/{CLOSING}/apply/"' in page
    assert AccessLog.objects.filter(subject_key=demo.ENTERPRISE_USCC).count() == 3


def test_the_pre_check_lists_every_blocking_matter_at_once(hub):
    from onewindow.datahub import demo as hub_demo

    client = _login("wangwu", enterprise=hub_demo.problem_enterprise_uscc())
    page = _page(client.get(f"/services/{CLOSING}/precheck/"))
    assert "ow-status--approved" not in page
    found = re.findall(r"<li>\s*<strong>(.*?)</strong>(.*?)</li>", page, re.S)
    assert len(found) == 3
    messages = [m for m, _rest in found]
    assert messages[0].startswith("存在欠缴税款")
    assert messages[1].startswith("欠缴社会保险费")
    assert messages[2].startswith("有 2 项海关手续尚未办结")
    tax = found[0][1]
    assert "国家税务总局示范市税务局" in tax  # the department holding the record
    assert "请先向税务部门缴清税款" in tax  # and what to do


def test_an_agent_without_the_grant_cannot_read_the_enterprise_through_the_pre_check(hub):
    from onewindow import demo
    from onewindow.datahub.models import AccessLog

    # 王五 is an agent of 李四's enterprise for other services only.
    page = _page(
        _login("wangwu", enterprise=demo.ENTERPRISE_USCC).get(f"/services/{CLOSING}/precheck/")
    )
    assert _text("The pre-check cannot run") in page
    assert "ow-status--approved" not in page
    assert not AccessLog.objects.filter(subject_key=demo.ENTERPRISE_USCC).exists()


def test_a_refused_submission_shows_the_pre_check(hub):
    from onewindow.datahub import demo as hub_demo

    client = _login("wangwu", enterprise=hub_demo.problem_enterprise_uscc())
    response = client.post(f"/services/{CLOSING}/apply/")
    assert response.status_code == 302
    draft = Application.objects.get(service_item__key=CLOSING)
    response = client.post(f"/applications/{draft.public_id}/submit/")
    assert response.status_code == 302
    assert response["Location"] == f"/services/{CLOSING}/precheck/"
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    page = _page(client.get(response["Location"]))
    assert "存在欠缴税款" in page


def test_the_pre_check_page_is_for_bundles_and_signed_in_citizens(city, client):
    assert client.get(f"/services/{CLOSING}/precheck/").status_code == 302  # to the login
    signed_in = _login("zhangsan")
    assert signed_in.get("/services/food_business_license/precheck/").status_code == 404
    page = _page(signed_in.get(f"/services/{RESTAURANT}/precheck/"))
    assert _text("No pre-check is needed") in page


# --- the application: a task list --------------------------------------------------------------


def test_a_draft_bundle_form_is_grouped_by_member(city):
    client = _login("zhangsan")
    client.post(f"/services/{RESTAURANT}/apply/")
    draft = Application.objects.get(service_item__key=RESTAURANT)
    page = _page(client.get(f"/applications/{draft.public_id}/edit/"))
    headings = re.findall(r"<h3>([^<]+)</h3>\s*\n?<div class=\"ow-field", page)
    assert headings == ["共同信息（各事项共用，只填一次）", "食品经营许可", "户外招牌设施设置"]
    shared = page.index("<h3>共同信息（各事项共用，只填一次）</h3>")
    food = page.index("<h3>食品经营许可</h3>")
    sign = page.index("<h3>户外招牌设施设置</h3>")
    # Shared fields first (the contact phone is shared too), then each member's own.
    assert shared < page.index('id="field-contact_phone"') < food
    assert food < page.index('id="field-operator_type"') < sign < page.index('id="field-sign_text"')

    detail = _page(client.get(f"/applications/{draft.public_id}/"))
    assert "食品经营许可" in detail
    assert "示范市住房和城乡建设局" in detail
    assert 'id="parts-heading"' not in detail  # no parts before it is submitted

    ordinary = Client()
    page_login(ordinary, "lisi", demo_account("lisi")["password"])
    ordinary.post("/services/food_business_license/apply/")
    food_draft = Application.objects.get(service_item__key="food_business_license")
    assert (
        "<h3>"
        not in _page(ordinary.get(f"/applications/{food_draft.public_id}/edit/"))
        .split('id="answers"')[1]
        .split('id="materials"')[0]
    )


def test_the_page_of_a_submitted_bundle_lists_each_part_with_its_department(city):
    bundle = _restaurant_submitted()
    parts = {p.service_item.key: p for p in bundle.parts.select_related("service_item")}
    assert set(parts) == {"food_business_license", "outdoor_signboard"}
    client = _login("zhangsan")
    page = _page(client.get(f"/applications/{bundle.public_id}/"))
    task_list = _section(page, "parts-heading")
    rows = re.findall(r"<tr>(.*?)</tr>", task_list.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    for row, key, department in (
        (rows[0], "food_business_license", "示范市市场监督管理局"),
        (rows[1], "outdoor_signboard", "示范市住房和城乡建设局"),
    ):
        part = parts[key]
        assert part.service_name in row
        assert department in row
        assert f'href="/applications/{part.public_id}/"' in row
        assert part.number in row
        assert html.escape(str(part.get_status_display())) in row
        assert part.due_date is not None
        assert f"{part.due_date:%Y-%m-%d}" in row
    # The applicant's list shows the bundle, not its parts.
    listing = _page(client.get("/applications/"))
    assert f'href="/applications/{bundle.public_id}/"' in listing
    assert parts["outdoor_signboard"].number not in listing

    # A part's page says which bundle it belongs to; it is changed only there.
    part = parts["food_business_license"]
    page = _page(client.get(f"/applications/{part.public_id}/"))
    assert f'href="/applications/{bundle.number}/"' in page
    assert _text("Part of the bundle application (一件事)") in page
    response = client.get(f"/applications/{part.public_id}/edit/")
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{bundle.number}/"
    response = client.post(f"/applications/{part.public_id}/submit/")
    assert response["Location"] == f"/applications/{bundle.number}/"

    # The department's task of a part says so too.
    item = open_item(part.number, "market_review")
    task = _page(_login(_staff(item)).get(f"/workbench/tasks/{item.pk}/"))
    assert _text("Part of the bundle application (一件事)") in task
    assert bundle.number in task


def test_a_bundle_in_correction_gathers_every_parts_list_once(city):
    bundle = _restaurant_submitted()
    numbers = {p.service_item.key: p.number for p in bundle.parts.select_related("service_item")}
    food = open_item(numbers["food_business_license"], "market_review")
    act(
        _staff(food),
        food,
        "supplement",
        opinion="请补正",
        items=[
            {"key": "layout_plan", "reason": "平面图不清晰"},
            {"key": "contact_phone", "reason": "电话无法接通"},
        ],
    )
    sign = open_item(numbers["outdoor_signboard"], "review")
    act(
        _staff(sign),
        sign,
        "supplement",
        opinion="请补正",
        items=[{"key": "contact_phone", "reason": "号码有误"}],
    )
    bundle.refresh_from_db()
    assert bundle.status == Status.SUPPLEMENT
    client = _login("zhangsan")
    page = _page(client.get(f"/applications/{bundle.public_id}/"))
    notice = _section(page, "supplement-heading")
    items = re.findall(r"<li>(.*?)</li>", notice, re.S)
    assert len(items) == 2  # the shared phone is asked once
    phone = next(i for i in items if "field-contact_phone" in i)
    assert "食品经营许可：电话无法接通" in phone
    assert "户外招牌设施设置：号码有误" in phone
    assert f"/applications/{bundle.public_id}/edit/#field-contact_phone" in phone
    layout = next(i for i in items if "material-layout_plan" in i)
    assert "平面图不清晰" in layout
    # Both parts are shown as being corrected in the task list.
    assert _section(page, "parts-heading").count("ow-status--supplement") == 2

    edit = _page(client.get(f"/applications/{bundle.public_id}/edit/"))
    assert 'id="field-contact_phone-correction"' in edit
    assert "户外招牌设施设置：号码有误" in edit


def test_a_waiting_part_says_what_it_waits_for(hub):
    from onewindow import demo
    from onewindow.casework import services
    from onewindow.identity.models import Enterprise

    subject = subject_for("lisi")
    subject.acting_for = Enterprise.objects.get(uscc=demo.ENTERPRISE_USCC)
    past = (dt.date.today() - dt.timedelta(days=60)).isoformat()
    answers = {
        "taxpayer_name": demo.ENTERPRISE_NAME,
        "uscc": demo.ENTERPRISE_USCC,
        "deregistration_reason": "dissolution",
        "uses_commitment": "no",
        "invoices_cancelled": "yes",
        "last_business_date": past,
        "contact_phone": "13800000001",
        "deregistration_type": "simple",
        "announcement_start_date": past,
        "tax_cleared": "yes",
        "contact_name": "李四",
    }
    draft = services.application_create(subject=subject, service_code=CLOSING, form_data=answers)
    _cleaned, problems = services.application_problems(draft)
    assert all(p.field.startswith("materials.") for p in problems), problems
    for problem in problems:
        key = problem.field.removeprefix("materials.")
        services.material_upload(
            subject=subject, application=draft, material_key=key, name=f"{key}.pdf", data=PDF
        )
    bundle = services.application_submit(subject=subject, application=draft)
    assert bundle.parts.count() == 1
    page = _page(
        _login("lisi", enterprise=demo.ENTERPRISE_USCC).get(f"/applications/{bundle.public_id}/")
    )
    rows = re.findall(r"<tr>(.*?)</tr>", _section(page, "parts-heading").split("<tbody>")[1], re.S)
    assert "国家税务总局示范市税务局" in rows[0]
    assert f"{bundle.number}-01" in rows[0]
    assert "示范市市场监督管理局" in rows[1]
    assert _text("waits for: %(names)s", names="清税申报（注销税务登记）") in rows[1]
    assert "ow-status--waiting" in rows[1]
    assert f"{bundle.number}-02" not in rows[1]
