"""签名存证: what the applicant submitted is sealed (SM3 digest, platform SM2 signature), so any
later change to the answers or the files is detectable."""

from __future__ import annotations

import pytest
from tests.casework.conftest import food_submitted, open_item
from tests.conftest import demo_account, page_login

from onewindow.casework import services
from onewindow.casework.models import Application, MaterialFile, SubmissionSeal

pytestmark = pytest.mark.django_db


def test_submission_is_sealed_and_a_changed_answer_is_detected(city, client):
    application = food_submitted()
    seal = SubmissionSeal.objects.get(application=application)
    assert seal.kind == "submitted"
    assert len(seal.digest) == 64
    assert seal.signature
    assert services.seal_check(application) == services.SealCheck(
        sealed=True, intact=True, sealed_at=seal.sealed_at, kind="submitted"
    )
    assert page_login(client, "clerk", demo_account("clerk")["password"]).status_code == 302
    item = open_item(application.number, "accept")
    assert "签名存证" in client.get(f"/workbench/tasks/{item.pk}/").content.decode()

    answers = dict(application.form_data, premises_area=999)
    Application.objects.filter(pk=application.pk).update(form_data=answers)
    application.refresh_from_db()
    assert services.seal_check(application).intact is False
    page = client.get(f"/workbench/tasks/{item.pk}/").content.decode()
    assert 'class="ow-notice" id="seal"' in page


def test_a_replaced_file_is_detected(city):
    application = food_submitted()
    row = MaterialFile.objects.filter(application=application, current=True).first()
    MaterialFile.objects.filter(pk=row.pk).update(sm3="0" * 64)
    assert services.seal_check(application).intact is False


def test_a_forged_signature_is_detected(city):
    application = food_submitted()
    seal = SubmissionSeal.objects.get(application=application)
    SubmissionSeal.objects.filter(pk=seal.pk).update(signature="00" * 70)
    assert services.seal_check(application).intact is False


def test_a_draft_is_not_sealed(city):
    from tests.casework.conftest import food_draft

    draft = food_draft()
    assert services.seal_check(draft).sealed is False


def test_a_correction_is_not_compared_and_its_return_is_sealed_again(city):
    from tests.casework.conftest import act, subject_for

    application = food_submitted()
    number = application.number
    act("clerk", open_item(number, "accept"), "accept")
    act(
        "market_reviewer",
        open_item(number, "market_review"),
        "supplement",
        opinion="请补正",
        items=[{"key": "premises_area", "reason": "面积与平面图不一致"}],
    )
    application.refresh_from_db()
    zhangsan = subject_for("zhangsan")
    application = services.application_update(
        subject=zhangsan,
        application=application,
        form_data={**application.form_data, "premises_area": 95},
        version=application.version,
    )
    check = services.seal_check(application)
    assert check.correcting is True  # changing while being corrected is no alarm
    application = services.application_submit(subject=zhangsan, application=application)
    kinds = list(application.seals.values_list("kind", flat=True))
    assert kinds == ["submitted", "supplement_returned"]
    assert services.seal_check(application).intact is True
