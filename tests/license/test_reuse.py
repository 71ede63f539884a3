"""Reuse (免提交): a material whose source is a license type is provided by the holder's valid
e-license; without one it must be uploaded, until an approval issues a new license."""

from __future__ import annotations

import pytest
from tests.casework.conftest import FOOD_MATERIALS, PDF, act, food_answers, open_item, subject_for
from tests.conftest import demo_account, page_login

from onewindow import demo
from onewindow.casework import forms
from onewindow.casework import services as casework
from onewindow.events.services import deliver_due
from onewindow.identity.models import Enterprise
from onewindow.license import services
from onewindow.license.models import License, Status

pytestmark = pytest.mark.django_db


def _for_enterprise(username: str = "lisi"):
    subject = subject_for(username)
    subject.acting_for = Enterprise.objects.get(uscc=demo.ENTERPRISE_USCC)
    return subject


def _business_license() -> License:
    return License.objects.get(
        holder_enterprise__uscc=demo.ENTERPRISE_USCC,
        license_type__key="business_license",
        status=Status.VALID,
    )


def _draft(service_code: str, answers: dict, materials: tuple[str, ...]):
    """A draft filed by 李四 for the demo enterprise, with these materials uploaded."""
    subject = _for_enterprise()
    application = casework.application_create(
        subject=subject, service_code=service_code, form_data=answers
    )
    for key in materials:
        casework.material_upload(
            subject=subject, application=application, material_key=key, name=f"{key}.pdf", data=PDF
        )
    application.refresh_from_db()
    return subject, application


def _food_draft():
    return _draft("food_business_license", food_answers(), FOOD_MATERIALS)


def _change_approved(new_name: str, materials: tuple[str, ...]):
    """A change of registration (企业变更登记) of the enterprise's name, submitted, accepted,
    reviewed and approved, and the outbox delivered: it issues a new 营业执照."""
    subject, change = _draft(
        "enterprise_change",
        {
            "enterprise_name": "示范市示范科技有限公司",
            "uscc": demo.ENTERPRISE_USCC,
            "change_items": ["name"],
            "new_name": new_name,
            "resolution_date": "2025-09-01",
            "contact_phone": "13800000002",
        },
        ("change_application", "change_resolution", "amended_articles", *materials),
    )
    change = casework.application_submit(subject=subject, application=change)
    for username, step, action in (
        ("clerk", "accept", "accept"),
        ("market_reviewer", "review", "pass"),
        ("market_approver", "decide", "approve"),
    ):
        act(username, open_item(change.number, step), action)
    deliver_due()
    return change


def _missing(application) -> set[str]:
    _cleaned, problems = casework.application_problems(application)
    return {p.field for p in problems}


def test_the_holders_license_provides_the_material_and_the_reviewer_sees_it(demo_catalog, client):
    held = _business_license()
    subject, application = _food_draft()
    views = {m.key: m for m in forms.material_views(application, application.form_data)}
    assert views["business_license"].need == "license"
    assert views["business_license"].license == held
    assert views["manager_id_card"].need == "exempt"  # 居民身份证: the national library
    assert "materials.business_license" not in _missing(application)
    submitted = casework.application_submit(subject=subject, application=application)
    line = submitted.timeline.get(kind="submitted")
    assert line.detail["licenses"] == {"business_license": held.identifier}
    assert page_login(client, "clerk", demo_account("clerk")["password"]).status_code == 302
    item = open_item(submitted.number, "accept")
    page = client.get(f"/workbench/tasks/{item.pk}/")
    assert page.status_code == 200
    assert held.identifier in page.content.decode()


def test_a_person_filing_for_themselves_is_not_checked(demo_catalog):
    subject = subject_for("zhangsan")
    application = casework.application_create(
        subject=subject, service_code="food_business_license", form_data=food_answers()
    )
    views = {m.key: m.need for m in forms.material_views(application, application.form_data)}
    assert views["business_license"] == "exempt"


def test_without_a_valid_license_it_is_uploaded_until_a_new_one_is_issued(demo_catalog):
    held = _business_license()
    services.license_status_change(
        subject=subject_for("market_approver"),
        identifier=held.identifier,
        action="revoke",
        reason="测试：吊销后重新办理",
    )
    _subject, food = _food_draft()
    assert "materials.business_license" in _missing(food)  # asked for the upload now

    # A change of registration (企业变更登记) is approved: it issues a new 营业执照.
    number = _change_approved("示范市新示范科技有限公司", ("business_license",)).number
    issued = License.objects.get(application_number=number)
    assert issued.license_type.key == "business_license"
    assert issued.holder_name == "示范市新示范科技有限公司"
    assert dict(issued.data)["名称"] == "示范市新示范科技有限公司"
    assert issued.valid_until is None  # 长期
    assert services.license_verify(identifier=issued.identifier).valid

    food.refresh_from_db()
    assert "materials.business_license" not in _missing(food)  # not asked any more
    views = {m.key: m for m in forms.material_views(food, food.form_data)}
    assert views["business_license"].license == issued


def test_a_new_license_replaces_the_holders_valid_one(demo_catalog):
    held = _business_license()
    change = _change_approved("示范市更名科技有限公司", ())
    assert change.timeline.get(kind="submitted").detail["licenses"] == {
        "business_license": held.identifier
    }
    issued = License.objects.get(application_number=change.number)
    held.refresh_from_db()
    assert held.status == Status.CANCELLED
    assert issued.identifier in held.status_reason
    rows = dict(issued.data)
    assert rows["名称"] == "示范市更名科技有限公司"
    assert rows["经营范围"] == dict(held.data)["经营范围"]  # unchanged rows carried over
    assert issued.issued_on >= held.issued_on


def test_the_applicant_sees_the_license_as_the_result(demo_catalog, client):
    from tests.license.test_services import approved_food_license

    row = approved_food_license()
    assert page_login(client, "lisi", demo_account("lisi")["password"]).status_code == 302
    client.post("/accounts/enterprises/", {"uscc": demo.ENTERPRISE_USCC})
    page = client.get(f"/applications/{row.application_number}/").content.decode()
    assert "办理结果" in page
    assert f"/licenses/{row.identifier}/" in page
