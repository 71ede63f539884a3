"""一件事一次办 through the API: every demo bundle driven end to end — the applicant fills the
merged form and submits once, each part is worked by its own department's staff through the
tasks API, and the bundle ends as configured."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.casework.conftest import PDF
from tests.conftest import demo_account, page_login

from onewindow.casework.models import Application, Status
from onewindow.events.services import deliver_due
from onewindow.workflow.models import WorkItem, WorkItemStatus

pytestmark = pytest.mark.django_db

POSITIVE = ("pass", "approve", "accept", "complete")
ENDED = ("completed", "rejected")


class City:
    """Logged-in API clients of the demo city, made once each."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}

    def client(self, username: str, *, enterprise: str | None = None) -> Client:
        key = f"{username}@{enterprise or ''}"
        if key not in self.clients:
            client = Client()
            response = page_login(client, username, demo_account(username)["password"])
            assert response.status_code == 302, response.content[:300]
            if enterprise:
                response = client.post("/accounts/enterprises/", {"uscc": enterprise})
                assert response.status_code == 302, response.content[:300]
            self.clients[key] = client
        return self.clients[key]

    def staff(self, department: str, role: str) -> Client:
        from onewindow import demo

        account = next(a for a in demo.STAFF if a.department == department and a.role == role)
        return self.client(account.username)


def _value(field: dict[str, Any], applicant: dict[str, Any]) -> Any:
    kind = field["type"]
    if kind == "select":
        first = field["options"][0]["value"]
        return [first] if field.get("multiple") else first
    if kind == "number":
        return max(int(field.get("min", 1) or 1), 1)
    if kind == "date":
        return (dt.date.today() - dt.timedelta(days=10)).isoformat()
    if kind == "id_number":
        return applicant["id_number"]
    if kind == "uscc":
        return applicant.get("uscc") or applicant["enterprise_uscc"]
    if kind == "phone":
        return "13800000001"
    if kind == "address":
        return {"region": "990102", "detail": "市民大道2号"}
    text = f"示范{field['label']}"
    return text[: int(field.get("max_length") or 50)]


def answers_for(bundle: str, applicant: dict[str, Any], **chosen: Any) -> dict[str, Any]:
    """A valid answer to every field of the bundle's merged form (the first option of each
    choice unless ``chosen`` says otherwise)."""
    from onewindow.catalog.models import ServiceItem

    version = ServiceItem.objects.get(key=bundle).published_version()
    answers = {f["key"]: _value(f, applicant) for f in version.form_schema["fields"]}
    answers.update(chosen)
    return answers


def upload(client: Client, app_id: str, key: str, data: bytes = PDF) -> None:
    response = client.post(
        f"/api/v1/applications/{app_id}/materials",
        {"material_key": key, "file": SimpleUploadedFile(f"{key}.pdf", data)},
    )
    assert response.status_code == 201, response.content


def submit_bundle(client: Client, bundle: str, answers: dict[str, Any]) -> dict[str, Any]:
    """Draft, upload exactly what the submission says is missing, submit: the bundle."""
    response = client.post(
        "/api/v1/applications",
        {"service_code": bundle, "form_data": answers},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    draft = response.json()
    assert draft["is_bundle"] is True
    response = client.post(f"/api/v1/applications/{draft['id']}/submit")
    if response.status_code == 422:
        body = response.json()
        assert body["code"] == "APPLICATION_INCOMPLETE", body
        fields = [d["field"] for d in body["details"]]
        assert all(f.startswith("materials.") for f in fields), body
        for field in fields:
            upload(client, draft["id"], field.removeprefix("materials."))
        response = client.post(f"/api/v1/applications/{draft['id']}/submit")
    assert response.status_code == 200, response.content
    return response.json()


def open_tasks(number: str) -> list[WorkItem]:
    parts = Application.objects.filter(parent__number=number).values_list("number", flat=True)
    return list(
        WorkItem.objects.filter(
            case_number__in=list(parts), status=WorkItemStatus.OPEN
        ).select_related("department")
    )


def act(city: City, item: WorkItem, action: str | None = None, **body: Any) -> dict[str, Any]:
    """One staff action through the tasks API, by a holder of the item's role."""
    staff = city.staff(item.department.code, item.role)
    task = staff.get(f"/api/v1/tasks/{item.pk}").json()
    names = [a["name"] for a in task["actions"]]
    chosen = action or next(n for n in POSITIVE if n in names)
    response = staff.post(
        f"/api/v1/tasks/{item.pk}/actions",
        {"action": chosen, "version": task["version"], **body},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    deliver_due()
    return response.json()


def work_until_done(city: City, number: str, *, refuse: str = "") -> None:
    """Every open task of every part gets its positive action (the part of ``refuse`` is
    refused at its decision), until nothing is open."""
    for _round in range(20):
        items = open_tasks(number)
        if not items:
            return
        for item in items:
            part = Application.objects.get(number=item.case_number)
            if refuse and part.service_item.key == refuse and item.step == "decide":
                act(city, item, "reject", opinion="不符合条件")
            else:
                act(city, item)
    raise AssertionError("the bundle's tasks never ran out")


def detail(client: Client, number: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/applications/{number}")
    assert response.status_code == 200, response.content
    return response.json()


def _zhangsan() -> dict[str, Any]:
    return demo_account("zhangsan")


def _enterprise(uscc: str) -> dict[str, Any]:
    return {**demo_account("lisi"), "uscc": uscc}


@pytest.fixture
def city(demo_catalog):
    return City()


def restaurant_bundle(city: City) -> tuple[Client, dict[str, Any], str]:
    """李四 for his enterprise submits 开办餐饮店一件事 (a restaurant: catering, hot food)."""
    from onewindow import demo

    client = city.client("lisi", enterprise=demo.ENTERPRISE_USCC)
    answers = answers_for(
        "restaurant_opening_bundle",
        _enterprise(demo.ENTERPRISE_USCC),
        operator_type="catering",
        business_items=["hot_food"],
    )
    return client, answers, submit_bundle(client, "restaurant_opening_bundle", answers)["number"]


def test_enterprise_opening_creates_every_department_s_work_at_once_and_completes_when_all_done(
    city,
):
    from onewindow import demo
    from onewindow.notify.models import Notification

    client = city.client("lisi", enterprise=demo.ENTERPRISE_USCC)
    answers = answers_for("enterprise_opening_bundle", _enterprise(demo.ENTERPRISE_USCC))
    bundle = submit_bundle(client, "enterprise_opening_bundle", answers)
    number = bundle["number"]
    assert bundle["status"] == "in_review"
    assert len(bundle["parts"]) == 5

    # One submission: every department has its work item now, none at the window.
    items = open_tasks(number)
    assert sorted(i.department.code for i in items) == sorted(
        ["market", "public_security", "tax", "hrss", "medical_insurance"]
    )
    assert {i.role for i in items} <= {"reviewer", "approver"}  # 即办件 go straight to a decision
    parts = Application.objects.filter(parent__number=number).order_by("number")
    assert [p.number for p in parts] == [f"{number}-{i:02d}" for i in range(1, 6)]
    assert all(p.status == Status.IN_REVIEW for p in parts)
    # The answers asked once reach every part under its own field names.
    assert {p.form_data.get("uscc") for p in parts if "uscc" in p.form_data} == {answers["uscc"]}
    assert parts[0].form_data["company_name"] == parts[1].form_data["enterprise_name"]
    # The applicant's list shows the bundle, not its parts.
    listing = client.get("/api/v1/applications").json()
    assert [a["number"] for a in listing["items"]] == [number]

    # Four departments act, one has not yet: the bundle is not done.
    first = [i for i in items if i.department.code != "medical_insurance"]
    for item in first:
        act(city, item)
    assert detail(client, number)["status"] == "in_review"

    work_until_done(city, number)
    done = detail(client, number)
    assert done["status"] == "completed"
    assert {p["state"] for p in done["parts"]} == {"completed"}
    assert Application.objects.filter(parent__number=number, status=Status.COMPLETED).count() == 5
    # The applicant was told once, by the bundle (no message per part).
    messages = Notification.objects.filter(recipient__username="lisi")
    assert not messages.filter(params__number__startswith=f"{number}-").exists()
    assert messages.filter(kind="application.completed", params__number=number).count() == 1


def test_return_all_stops_the_other_parts_and_the_applicant_sees_why(city):
    from onewindow import demo
    from onewindow.notify.models import Notification

    client = city.client("lisi", enterprise=demo.ENTERPRISE_USCC)
    answers = answers_for("enterprise_opening_bundle", _enterprise(demo.ENTERPRISE_USCC))
    number = submit_bundle(client, "enterprise_opening_bundle", answers)["number"]
    market = next(i for i in open_tasks(number) if i.department.code == "market")
    act(city, market)  # review passed
    decide = next(i for i in open_tasks(number) if i.department.code == "market")
    act(city, decide, "reject", opinion="名称与已登记企业重复")

    seen = detail(client, number)
    assert seen["status"] == "rejected"
    assert "名称与已登记企业重复" in seen["outcome_reason"]
    states = {p["service_code"]: p["state"] for p in seen["parts"]}
    assert states["business_license"] == "rejected"
    assert {states[k] for k in states if k != "business_license"} == {"terminated"}
    # The stopped parts' work is gone from every inbox; the refusal is still delivered.
    deliver = open_tasks(number)
    assert [i.step for i in deliver] == ["deliver"]
    assert seen["timeline"][-1]["kind"] == "bundle_returned"
    act(city, deliver[0])  # the window hands the refusal over: the bundle ends only once
    after = detail(client, number)
    assert [e["kind"] for e in after["timeline"]].count("bundle_returned") == 1
    assert {p["state"] for p in after["parts"] if p["service_code"] == "business_license"} == {
        "rejected"
    }
    messages = Notification.objects.filter(recipient__username="lisi", params__number=number)
    assert messages.filter(kind="application.rejected").count() == 1


def test_continue_lets_the_rest_finish_and_the_bundle_ends_partly_granted(city):
    client = city.client("zhangsan")
    answers = answers_for("after_death_bundle", _zhangsan())
    number = submit_bundle(client, "after_death_bundle", answers)["number"]
    # 户口注销 waits for 死亡证明; the other four start at once.
    first = detail(client, number)
    states = {p["service_code"]: p["state"] for p in first["parts"]}
    assert states["household_cancellation"] == "waiting"
    assert sorted(i.department.code for i in open_tasks(number)) == sorted(
        ["health", "hrss", "civil_affairs", "housing_fund"]
    )
    work_until_done(city, number, refuse="funeral_subsidy")
    done = detail(client, number)
    assert done["status"] == "completed"
    states = {p["service_code"]: p for p in done["parts"]}
    assert states["household_cancellation"]["state"] == "completed"
    assert "不符合条件" in states["funeral_subsidy"]["outcome_reason"]
    assert "基本殡葬服务费用减免" in done["outcome_reason"]


def test_newborn_parts_follow_their_order(city):
    client = city.client("zhangsan")
    answers = answers_for("newborn_bundle", _zhangsan())
    number = submit_bundle(client, "newborn_bundle", answers)["number"]
    assert [i.department.code for i in open_tasks(number)] == ["health"]
    states = {p["service_code"]: p for p in detail(client, number)["parts"]}
    assert states["newborn_household_registration"]["waiting_for"] == ["出生医学证明首次签发"]
    assert states["social_security_card"]["state"] == "waiting"

    act(city, open_tasks(number)[0])  # 即办件, approved: 户口登记 starts in the police's inbox
    assert [i.department.code for i in open_tasks(number)] == ["public_security"]
    act(city, open_tasks(number)[0])  # approved: 社保卡 and 医保 start together
    assert sorted(i.department.code for i in open_tasks(number)) == ["hrss", "medical_insurance"]
    work_until_done(city, number)
    done = detail(client, number)
    assert done["status"] == "completed"
    assert [p["number"] for p in done["parts"]] == [f"{number}-{i:02d}" for i in range(1, 5)]


def test_a_refused_first_part_leaves_what_waits_for_it_unstarted(city):
    client = city.client("zhangsan")
    answers = answers_for("newborn_bundle", _zhangsan())
    number = submit_bundle(client, "newborn_bundle", answers)["number"]
    work_until_done(city, number, refuse="birth_medical_certificate")
    done = detail(client, number)
    assert done["status"] == "rejected"
    states = {p["service_code"]: p["state"] for p in done["parts"]}
    assert states["birth_medical_certificate"] == "rejected"  # completed, but refused
    labels = {p["service_code"]: p["state_label"] for p in done["parts"]}
    assert labels["birth_medical_certificate"] == str(Status.REJECTED.label)
    assert {states[k] for k in states if k != "birth_medical_certificate"} == {"not_started"}
    assert Application.objects.filter(parent__number=number).count() == 1


def test_restaurant_bundle_one_supplement_gathers_every_part_s_request(city):
    from onewindow.license.models import License
    from onewindow.notify.models import Notification

    client, answers, number = restaurant_bundle(city)
    items = {i.department.code: i for i in open_tasks(number) if i.role == "reviewer"}
    assert set(items) >= {"market", "housing"}
    act(
        city,
        items["market"],
        "supplement",
        opinion="请补正",
        items=[{"key": "contact_phone", "reason": "电话无法接通"}],
    )
    act(
        city,
        items["housing"],
        "supplement",
        opinion="请补正",
        items=[
            {"key": "sign_design", "reason": "效果图不清晰"},
            {"key": "contact_phone", "reason": "请留手机号码"},
        ],
    )
    seen = detail(client, number)
    assert seen["status"] == "supplement"
    gathered = {i["key"]: i for i in seen["supplement"]["items"]}
    assert set(gathered) == {"contact_phone", "sign_design"}  # asked once, from both parts
    assert "电话无法接通" in gathered["contact_phone"]["reason"]
    assert "请留手机号码" in gathered["contact_phone"]["reason"]

    kinds = [e["kind"] for e in seen["timeline"]]
    assert kinds.count("supplement_requested") == 2  # one line per part that asked
    # A part is corrected through its bundle only.
    part_number = f"{number}-01"
    response = client.put(
        f"/api/v1/applications/{part_number}",
        {"form_data": {}, "version": 1},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "BUNDLE_PART_NOT_EDITABLE"
    response = client.post(f"/api/v1/applications/{part_number}/submit")
    assert response.json()["code"] == "BUNDLE_PART_NOT_EDITABLE"

    answers["contact_phone"] = "13900000009"
    response = client.put(
        f"/api/v1/applications/{number}",
        {"form_data": answers, "version": seen["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    upload(client, number, "sign_design", PDF + b"% clearer\n")
    response = client.post(f"/api/v1/applications/{number}/submit")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_review"
    parts = Application.objects.filter(parent__number=number)
    assert {p.form_data["contact_phone"] for p in parts} == {"13900000009"}
    housing = parts.get(service_item__key="outdoor_signboard")
    assert housing.material_files.get(material_key="sign_design", current=True).version == 2
    assert housing.status == Status.IN_REVIEW

    work_until_done(city, number)
    assert detail(client, number)["status"] == "completed"
    # The result: the 食品经营许可证 is in the wallet, and the applicant was told once, by the
    # bundle (no message per part, none per license).
    assert License.objects.filter(application_number__startswith=number).count() == 1
    messages = Notification.objects.filter(recipient__username="lisi")
    assert not messages.filter(params__number__startswith=f"{number}-").exists()
    assert not messages.filter(kind="license.issued").exists()
    assert messages.filter(kind="application.completed", params__number=number).count() == 1


def test_enterprise_closing_precheck_lists_every_blocking_matter_at_once(city):
    from onewindow.datahub import demo as hub_demo

    hub_demo.seed(persons=20, enterprises=3)
    problem = hub_demo.problem_enterprise_uscc()
    client = city.client("wangwu", enterprise=problem)
    response = client.get("/api/v1/services/enterprise_closing_bundle/precheck")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["passed"] is False
    assert [b["key"] for b in body["blocking"]] == [
        "tax_arrears",
        "social_insurance_arrears",
        "customs_open_procedures",
    ]
    assert "欠缴税款" in body["blocking"][0]["message"]
    assert body["blocking"][2]["department_name"] == "示范海关"

    answers = answers_for("enterprise_closing_bundle", {**demo_account("wangwu"), "uscc": problem})
    draft = client.post(
        "/api/v1/applications",
        {"service_code": "enterprise_closing_bundle", "form_data": answers},
        content_type="application/json",
    ).json()
    response = client.post(f"/api/v1/applications/{draft['id']}/submit")
    assert response.status_code == 422
    refused = response.json()
    assert refused["code"] == "BUNDLE_PRECHECK_FAILED"
    assert [d["field"] for d in refused["details"]] == [
        "precheck.tax_arrears",
        "precheck.social_insurance_arrears",
        "precheck.customs_open_procedures",
    ]
    # Each read is in the enterprise's "who accessed my data" log.
    log = client.get("/api/v1/me/access-log").json()
    datasets = {row["dataset"] for row in log["items"]}
    assert {"tax_arrears", "social_insurance", "customs_open_procedures"} <= datasets


def test_the_precheck_is_only_for_those_who_may_apply(city):
    """It reads the enterprise's records: an agent outside its grant and an individual get a
    refusal, not the records."""
    from onewindow import demo

    agent = city.client("wangwu", enterprise=demo.ENTERPRISE_USCC)  # granted two services only
    response = agent.get("/api/v1/services/enterprise_closing_bundle/precheck")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "AGENT_OUT_OF_SCOPE"
    person = city.client("zhangsan")
    response = person.get("/api/v1/services/enterprise_closing_bundle/precheck")
    assert response.json()["code"] == "SERVICE_AUDIENCE"


def test_enterprise_closing_passes_for_a_clean_enterprise_and_runs_in_order(city):
    from onewindow import demo
    from onewindow.datahub import demo as hub_demo

    hub_demo.seed(persons=20, enterprises=3)
    client = city.client("lisi", enterprise=demo.ENTERPRISE_USCC)
    body = client.get("/api/v1/services/enterprise_closing_bundle/precheck").json()
    assert body == {
        "service_code": "enterprise_closing_bundle",
        "passed": True,
        "blocking": [],
    }
    answers = answers_for("enterprise_closing_bundle", _enterprise(demo.ENTERPRISE_USCC))
    number = submit_bundle(client, "enterprise_closing_bundle", answers)["number"]
    assert [i.department.code for i in open_tasks(number)] == ["tax"]
    work_until_done(city, number)
    done = detail(client, number)
    assert done["status"] == "completed"
    assert [p["department"] for p in done["parts"]] == ["tax", "market"]


def test_merged_forms_ask_each_shared_field_once():
    """Pure merge: two members sharing enterprise.name and an e-license material."""
    from onewindow.catalog.bundles import SHARED_GROUP, Member, merge

    def member(key: str, department: str, fields: list[dict], materials: list[dict]) -> Member:
        return Member(
            key=key,
            name=key,
            department=department,
            audience=("legal_person",),
            version=1,
            content={"form": {"fields": fields}, "materials": materials, "promised_limit_days": 3},
        )

    a = member(
        "a",
        "market",
        [
            {"key": "name", "type": "text", "label": "名称", "dictionary_key": "enterprise.name"},
            {
                "key": "kind",
                "type": "select",
                "label": "类型",
                "required": True,
                "options": [{"value": "x", "label": "X"}],
            },
        ],
        [
            {
                "key": "licence",
                "source": "license",
                "license_type": "business_license",
                "necessity": "required",
            }
        ],
    )
    b = member(
        "b",
        "tax",
        [
            {
                "key": "taxpayer",
                "type": "text",
                "label": "纳税人名称",
                "required": True,
                "dictionary_key": "enterprise.name",
            },
            {"key": "kind", "type": "text", "label": "其他", "required_if": "taxpayer == 'x'"},
        ],
        [
            {
                "key": "licence",
                "source": "license",
                "license_type": "business_license",
                "necessity": "conditional",
                "required_if": "kind == 'y'",
            }
        ],
    )
    merged = merge(
        {"audience": ["legal_person"], "members": [{"item": "a"}, {"item": "b"}]}, [a, b]
    )
    assert merged.problems == []
    fields = merged.content["form"]["fields"]
    assert [f["key"] for f in fields] == ["name", "kind", "b__kind"]
    assert fields[0]["group"] == SHARED_GROUP
    assert fields[0]["required"] is True
    assert fields[2]["required_if"] == "name == 'x'"  # follows the renamed shared field
    assert [m["key"] for m in merged.content["materials"]] == ["licence"]
    assert merged.content["materials"][0]["necessity"] == "required"
    members = merged.content["bundle"]["members"]
    assert members[1]["fields"] == {"taxpayer": "name", "kind": "b__kind"}
    assert merged.content["promised_limit_days"] == 3  # parallel: the longest, not the sum


def test_conflicting_definitions_and_same_department_members_are_reported_on_import(
    demo_catalog,
):
    from onewindow import demo
    from onewindow.catalog import services

    data = services.catalog_load_yaml(demo.CATALOG_FILE.read_text("utf-8"))
    food = next(i for i in data["items"] if i["key"] == "food_business_license")
    field = next(f for f in food["form"]["fields"] if f["key"] == "uscc")
    field["type"] = "text"  # enterprise.uscc is a uscc field in the other items
    data["bundles"].append(
        {
            "key": "broken_bundle",
            "name": "冲突的一件事",
            "basic_code": "YJS000000099",
            "audience": ["legal_person"],
            "members": [
                {"item": "food_business_license"},
                {"item": "business_license"},
                {"item": "company_seal", "after": ["tax_registration_invoice"]},
            ],
        }
    )
    report = services.catalog_validate(data)
    found = {(p.item, p.path): p.reason for p in report.problems}
    assert ("broken_bundle", "members[2].after") in found
    assert any(
        item == "broken_bundle" and "enterprise.uscc" in reason
        for (item, _path), reason in found.items()
    )
    assert any("one part per department" in r or "一个部门" in r for r in found.values())
    with pytest.raises(services.CatalogImportError):
        services.catalog_import(data)


def test_the_catalog_api_describes_a_bundle(demo_catalog, client):
    body = client.get("/api/v1/services/newborn_bundle").json()
    assert body["is_bundle"] is True
    members = body["bundle"]["members"]
    assert [m["item"] for m in members][:2] == [
        "birth_medical_certificate",
        "newborn_household_registration",
    ]
    assert members[1]["after"] == ["birth_medical_certificate"]
    shared = [f for f in body["form"]["fields"] if f.get("dictionary_key") == "newborn.name"]
    assert len(shared) == 1  # asked once for the three members that ask for it
    closing = client.get("/api/v1/services/enterprise_closing_bundle").json()
    assert closing["bundle"]["prechecks"] == [
        "tax_arrears",
        "social_insurance_arrears",
        "customs_open_procedures",
    ]
    assert client.get("/api/v1/services/food_business_license").json()["bundle"] is None


def test_a_refused_first_part_under_return_all_leaves_the_next_unstarted(city):
    from onewindow import demo
    from onewindow.datahub import demo as hub_demo

    hub_demo.seed(persons=20, enterprises=3)
    client = city.client("lisi", enterprise=demo.ENTERPRISE_USCC)
    answers = answers_for("enterprise_closing_bundle", _enterprise(demo.ENTERPRISE_USCC))
    number = submit_bundle(client, "enterprise_closing_bundle", answers)["number"]
    work_until_done(city, number, refuse="tax_deregistration")
    done = detail(client, number)
    assert done["status"] == "rejected"
    states = {p["service_code"]: p["state"] for p in done["parts"]}
    assert states == {"tax_deregistration": "rejected", "enterprise_deregistration": "not_started"}
    assert "企业注销登记" in done["outcome_reason"]
    assert Application.objects.filter(parent__number=number).count() == 1


def test_a_waiting_part_starts_from_the_returned_answers_not_a_half_made_correction(city):
    client = city.client("zhangsan")
    answers = answers_for("after_death_bundle", _zhangsan())
    bundle = submit_bundle(client, "after_death_bundle", answers)
    number = bundle["number"]
    hrss = next(i for i in open_tasks(number) if i.department.code == "hrss")
    act(
        city,
        hrss,
        "supplement",
        opinion="请补正",
        items=[{"key": "bank_account", "reason": "账号位数不对"}],
    )
    seen = detail(client, number)
    assert seen["status"] == "supplement"
    answers["bank_account"] = "6222000000000000001"
    answers["deceased_name"] = ""  # half way through editing: not returned yet
    response = client.put(
        f"/api/v1/applications/{number}",
        {"form_data": answers, "version": seen["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    health = next(i for i in open_tasks(number) if i.department.code == "health")
    act(city, health)  # 死亡证明 approved (即办件): 户口注销 waits for the return
    assert not Application.objects.filter(
        parent__number=number, service_item__key="household_cancellation"
    ).exists()
    answers["deceased_name"] = bundle["form_data"]["deceased_name"]
    response = client.put(
        f"/api/v1/applications/{number}",
        {"form_data": answers, "version": response.json()["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    response = client.post(f"/api/v1/applications/{number}/submit")
    assert response.status_code == 200, response.content
    police = Application.objects.get(
        parent__number=number, service_item__key="household_cancellation"
    )
    assert police.form_data["deceased_name"] == bundle["form_data"]["deceased_name"]
    assert [i.department.code for i in open_tasks(number) if i.case_number == police.number] == [
        "public_security"
    ]
    # The corrected bank account also reached the other open parts that pay into it.
    funeral = Application.objects.get(parent__number=number, service_item__key="funeral_subsidy")
    assert funeral.form_data["bank_account"] == "6222000000000000001"
    assert funeral.timeline.filter(kind="corrected_with_bundle").count() == 1
    work_until_done(city, number)
    assert detail(client, number)["status"] == "completed"


def test_a_correction_may_change_only_what_was_asked(city):

    client, answers, number = restaurant_bundle(city)
    housing = next(i for i in open_tasks(number) if i.department.code == "housing")
    act(
        city,
        housing,
        "supplement",
        opinion="请补正",
        items=[{"key": "sign_text", "reason": "招牌文字与名称不一致"}],
    )
    seen = detail(client, number)
    answers["sign_text"] = "示范小馆"
    answers["operator_name"] = "另一个名称"  # 食品经营许可 decides on this: not asked
    client.put(
        f"/api/v1/applications/{number}",
        {"form_data": answers, "version": seen["version"]},
        content_type="application/json",
    )
    response = client.post(f"/api/v1/applications/{number}/submit")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "BUNDLE_CORRECTION_OUTSIDE_REQUEST"
    assert [d["field"] for d in body["details"]] == ["form_data.operator_name"]
    answers["operator_name"] = seen["form_data"]["operator_name"]
    client.put(
        f"/api/v1/applications/{number}",
        {"form_data": answers, "version": detail(client, number)["version"]},
        content_type="application/json",
    )
    response = client.post(f"/api/v1/applications/{number}/submit")
    assert response.status_code == 200, response.content
    sign = Application.objects.get(parent__number=number, service_item__key="outdoor_signboard")
    assert sign.form_data["sign_text"] == "示范小馆"


def test_a_part_s_suspension_and_extension_reach_the_applicant(city):
    from onewindow.notify.models import Notification

    client = city.client("zhangsan")
    answers = answers_for("after_death_bundle", _zhangsan())
    number = submit_bundle(client, "after_death_bundle", answers)["number"]
    before = detail(client, number)["due_date"]
    civil = next(i for i in open_tasks(number) if i.department.code == "civil_affairs")
    act(city, civil, "suspend", reason="appraisal", opinion="需核实困难情况")
    seen = detail(client, number)
    suspended = [e for e in seen["timeline"] if e["kind"] == "part_suspended"]
    assert len(suspended) == 1
    assert suspended[0]["opinion"] == "需核实困难情况"
    messages = Notification.objects.filter(recipient__username="zhangsan", params__number=number)
    assert messages.filter(kind="application.suspended").count() == 1
    act(city, WorkItem.objects.get(pk=civil.pk), "resume")
    assert messages.filter(kind="application.resumed").count() == 1

    fund = next(i for i in open_tasks(number) if i.department.code == "housing_fund")
    act(city, fund, "extend", opinion="需向异地调取缴存记录")
    head = next(
        i for i in open_tasks(number) if i.department.code == "housing_fund" and i.kind != "step"
    )
    act(city, head, "approve")
    extended = detail(client, number)
    assert [e["kind"] for e in extended["timeline"]].count("part_extended") == 1
    assert extended["due_date"] > before  # the bundle is due when its last part is
    assert messages.filter(kind="application.extended").count() == 1


def test_no_demo_bundle_asks_the_same_question_twice(demo_catalog):
    from onewindow.catalog.models import ServiceItem

    for item in ServiceItem.objects.filter(is_bundle=True):
        fields = item.published_version().form_schema["fields"]
        asked = [
            (f["label"], f["type"], tuple(sorted(o["value"] for o in f.get("options") or [])))
            for f in fields
        ]
        assert len(asked) == len(set(asked)), item.key
        elements = [f["dictionary_key"] for f in fields if f.get("dictionary_key")]
        assert len(elements) == len(set(elements)), item.key


def test_a_newborn_s_social_security_card_is_not_issued_to_the_parent(city):
    from onewindow.license.models import License

    client = city.client("zhangsan")
    answers = answers_for("newborn_bundle", _zhangsan(), application_type="newborn")
    number = submit_bundle(client, "newborn_bundle", answers)["number"]
    work_until_done(city, number)
    assert detail(client, number)["status"] == "completed"
    assert not License.objects.filter(
        license_type__key="social_security_card", holder_user__username="zhangsan"
    ).exists()
