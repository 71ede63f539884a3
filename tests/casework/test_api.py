"""The applications and tasks API: the applicant's journey and the workbench's actions."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.casework.conftest import JPEG, PDF, PNG, food_answers, ofd_bytes
from tests.conftest import demo_account, page_login

pytestmark = pytest.mark.django_db


def _client(username: str) -> Client:
    client = Client()
    account = demo_account(username)
    response = page_login(
        client, username, account["password"], totp_secret=account.get("totp_secret")
    )
    assert response.status_code == 302, response.content
    return client


def _upload(client, app_id, key, data, name="f.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/api/v1/applications/{app_id}/materials",
        {"material_key": key, "file": SimpleUploadedFile(name, data)},
    )


def _draft(client) -> dict:
    response = client.post(
        "/api/v1/applications",
        {"service_code": "food_business_license", "form_data": food_answers()},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_applicant_journey_over_the_api(demo_catalog):
    citizen = _client("zhangsan")
    draft = _draft(citizen)
    assert draft["status"] == "draft"
    assert draft["number"] is None
    app_id = draft["id"]

    response = citizen.post(f"/api/v1/applications/{app_id}/submit")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "APPLICATION_INCOMPLETE"
    assert {d["field"] for d in body["details"]} == {
        "materials.license_application",
        "materials.layout_plan",
        "materials.safety_rules",
    }

    for key, data, name in (
        ("license_application", PDF, "申请书.pdf"),
        ("layout_plan", PNG, "plan.png"),
        ("safety_rules", ofd_bytes(), "rules.ofd"),
    ):
        response = _upload(citizen, app_id, key, data, name)
        assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "application/ofd"
    assert len(response.json()["sm3"]) == 64

    response = citizen.post(f"/api/v1/applications/{app_id}/submit")
    assert response.status_code == 200, response.content
    submitted = response.json()
    number = submitted["number"]
    assert submitted["status"] == "submitted"
    assert [s["step"] for s in submitted["current_steps"]] == ["accept"]

    listing = citizen.get("/api/v1/applications").json()
    assert [a["number"] for a in listing["items"]] == [number]
    detail = citizen.get(f"/api/v1/applications/{number}").json()
    assert [e["kind"] for e in detail["timeline"]] == ["created", "submitted"]

    # Someone else's application does not exist for them.
    assert _client("lisi").get(f"/api/v1/applications/{number}").status_code == 404

    clerk = _client("clerk")
    tasks = clerk.get(f"/api/v1/tasks?number={number}").json()
    assert tasks["total"] == 1
    task = tasks["items"][0]
    assert task["light"] in ("green", "yellow")
    assert task["step"] == "accept"
    response = clerk.post(
        f"/api/v1/tasks/{task['id']}/actions",
        {"action": "accept", "version": task["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["application_status"] == "in_review"

    # The same (now stale) version again: 409, nothing changes.
    response = clerk.post(
        f"/api/v1/tasks/{task['id']}/actions",
        {"action": "accept", "version": task["version"]},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "TASK_VERSION_CONFLICT"

    detail = citizen.get(f"/api/v1/applications/{number}").json()
    assert detail["status"] == "in_review"
    assert detail["due_date"]
    assert {s["step"] for s in detail["current_steps"]} == {"market_review", "hygiene_review"}


def test_uploads_are_recognised_by_content_not_name(demo_catalog, settings):
    citizen = _client("zhangsan")
    app_id = _draft(citizen)["id"]
    response = _upload(citizen, app_id, "layout_plan", b"MZ\x90\x00 not a pdf", "evil.pdf")
    assert response.status_code == 415
    assert response.json()["code"] == "MATERIAL_TYPE_NOT_ALLOWED"
    response = _upload(citizen, app_id, "layout_plan", JPEG, "photo.pdf")
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/jpeg"
    response = _upload(citizen, app_id, "no_such_material", PDF)
    assert response.status_code == 422
    assert response.json()["code"] == "MATERIAL_UNKNOWN"
    settings.ONEWINDOW_MATERIAL_MAX_BYTES = 40
    response = _upload(citizen, app_id, "layout_plan", PDF + b"x" * 40)
    assert response.status_code == 413
    assert response.json()["code"] == "MATERIAL_TOO_LARGE"


def eicar_scanner(data: bytes) -> bool:
    """A test scanner: rejects the EICAR test signature."""
    return b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" not in data


def test_the_virus_scan_hook_rejects_infected_files(demo_catalog, settings):
    settings.ONEWINDOW_VIRUS_SCANNER = "tests.casework.test_api.eicar_scanner"
    citizen = _client("zhangsan")
    app_id = _draft(citizen)["id"]
    response = _upload(
        citizen,
        app_id,
        "layout_plan",
        PDF + b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "MATERIAL_INFECTED"
    response = _upload(citizen, app_id, "layout_plan", PDF)
    assert response.status_code == 201
    assert response.json()["scan_status"] == "clean"


def test_tasks_are_for_staff_with_casework_roles(demo_catalog):
    assert _client("zhangsan").get("/api/v1/tasks").status_code == 403
    assert Client().get("/api/v1/tasks").status_code == 401


def test_material_files_download_for_those_who_see_the_case_and_staff_reads_are_audited(
    demo_catalog,
):
    from onewindow.audit.models import AuditEntry

    citizen = _client("zhangsan")
    app_id = _draft(citizen)["id"]
    first = _upload(citizen, app_id, "license_application", PDF, "申请书.pdf").json()
    second = _upload(citizen, app_id, "license_application", PNG, "申请书（新）.png").json()
    assert (first["version"], second["version"]) == (1, 2)
    _upload(citizen, app_id, "layout_plan", PNG, "plan.png")
    _upload(citizen, app_id, "safety_rules", PDF, "rules.pdf")
    listed = citizen.get(f"/api/v1/applications/{app_id}").json()["materials"]
    assert second["id"] in {m["id"] for m in listed}
    assert first["id"] not in {m["id"] for m in listed}  # only current versions are listed

    response = citizen.get(f"/api/v1/applications/{app_id}/materials/{first['id']}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF  # the replaced version is kept
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "private" in response["Cache-Control"]
    assert "no-store" in response["Cache-Control"]
    response = citizen.get(f"/applications/{app_id}/materials/{second['id']}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    # A draft is the applicant's alone; an unknown file id of their own case is 404 too.
    assert (
        _client("lisi").get(f"/api/v1/applications/{app_id}/materials/{first['id']}").status_code
        == 404
    )
    assert citizen.get(f"/api/v1/applications/{app_id}/materials/999999").status_code == 404

    number = citizen.post(f"/api/v1/applications/{app_id}/submit").json()["number"]
    clerk = _client("clerk")  # gov_services holds the 受理 step
    assert not AuditEntry.objects.filter(action="casework.material.view").exists()
    response = clerk.get(f"/api/v1/applications/{number}/materials/{second['id']}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    entry = AuditEntry.objects.get(action="casework.material.view")
    assert entry.object_id == number
    assert entry.detail["purpose"] == "handling"
    assert entry.detail["file"] == second["id"]
    assert entry.detail["version"] == 2
    assert entry.detail["sm3"] == second["sm3"]
    assert entry.actor == "clerk"
    # Staff of a department with no part in the case see nothing, not even that it exists.
    hrss = _client("hrss_reviewer")
    assert hrss.get(f"/api/v1/applications/{number}/materials/{second['id']}").status_code == 404
    assert hrss.get(f"/applications/{number}/materials/{second['id']}/").status_code == 404
    assert AuditEntry.objects.filter(action="casework.material.view").count() == 1
    # The detail page links every listed file.
    page = citizen.get(f"/applications/{number}/").content.decode()
    assert f"/applications/{number}/materials/{second['id']}/" in page


def test_the_submit_answer_is_what_reading_the_application_back_gives(demo_catalog):
    # The API's submission builds its answer's steps and materials from what it wrote (no
    # read-back): it must be exactly what a later read returns.
    citizen = _client("zhangsan")
    app_id = _draft(citizen)["id"]
    for key, data, name in (
        ("license_application", PDF, "申请书.pdf"),
        ("layout_plan", PNG, "plan.png"),
        ("safety_rules", ofd_bytes(), "rules.ofd"),
    ):
        assert _upload(citizen, app_id, key, data, name).status_code == 201
    # Replaced once: only the current version is in the answer.
    assert _upload(citizen, app_id, "layout_plan", JPEG, "plan.jpg").status_code == 201
    submitted = citizen.post(f"/api/v1/applications/{app_id}/submit")
    assert submitted.status_code == 200, submitted.content
    answer = submitted.json()
    assert answer == citizen.get(f"/api/v1/applications/{answer['number']}").json()
    # Again, now certainly through the reads kept compiled (kit.compiled): the same answer.
    from onewindow.casework import selectors

    kept = (
        selectors._by_number_read,
        selectors._timeline_read,
        selectors._current_files_read,
        selectors._current_steps_read,
    )
    assert all(read._compiled for read in kept)
    assert answer == citizen.get(f"/api/v1/applications/{answer['number']}").json()
    assert [s["step"] for s in answer["current_steps"]] == ["accept"]
    assert [(m["material_key"], m["version"]) for m in answer["materials"]] == [
        ("layout_plan", 2),
        ("license_application", 1),
        ("safety_rules", 1),
    ]
    # Submitting it again: refused, nothing changes.
    again = citizen.post(f"/api/v1/applications/{app_id}/submit")
    assert again.status_code == 409
    assert again.json()["code"] == "APPLICATION_NOT_EDITABLE"
    # Someone else cannot submit it (or learn that it exists).
    assert _client("lisi").post(f"/api/v1/applications/{app_id}/submit").status_code == 404


def test_current_steps_in_memory_sort_as_they_are_read(demo_catalog):
    from onewindow.casework import selectors
    from onewindow.casework.models import Application
    from onewindow.workflow.models import WorkItem

    citizen, clerk = _client("zhangsan"), _client("clerk")
    app_id = _draft(citizen)["id"]
    for key, data in (("license_application", PDF), ("layout_plan", PNG)):
        assert _upload(citizen, app_id, key, data).status_code == 201
    assert _upload(citizen, app_id, "safety_rules", ofd_bytes(), "r.ofd").status_code == 201
    number = citizen.post(f"/api/v1/applications/{app_id}/submit").json()["number"]
    task = clerk.get(f"/api/v1/tasks?number={number}").json()["items"][0]
    clerk.post(
        f"/api/v1/tasks/{task['id']}/actions",
        {"action": "accept", "version": task["version"]},
        content_type="application/json",
    )
    application = Application.objects.get(number=number)
    read = selectors.current_steps(application=application)
    assert len(read) == 2  # the parallel reviews
    # The first, once without a due date, sorts last on both databases.
    WorkItem.objects.filter(pk=read[0].pk).update(due_at=None)
    read = selectors.current_steps(application=application)
    assert read[-1].due_at is None
    assert sorted(reversed(read), key=selectors.current_step_order) == read
