"""E-licenses through the services and the API: issued on approval, signed, verified by anyone,
suspended and revoked by the issuing department, listed in the holder's wallet."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from pypdf import PdfReader
from tests.casework.conftest import FOOD_MATERIALS, PDF, act, food_answers, open_item, subject_for
from tests.conftest import api_login, demo_account, page_login
from tests.license.test_reuse import _for_enterprise

from onewindow.casework import services as casework
from onewindow.events.services import deliver_due
from onewindow.kit.errors import ApiError
from onewindow.kit.license_id import parse_license_identifier
from onewindow.license import keys, services
from onewindow.license.models import License, SigningKey, Status, Verification

pytestmark = pytest.mark.django_db


def approved_food_license() -> License:
    """A food business licence application filed for the demo enterprise, approved, and the
    outbox delivered (as the worker would): the license it issues."""
    subject = _for_enterprise()
    application = casework.application_create(
        subject=subject, service_code="food_business_license", form_data=food_answers()
    )
    for key in FOOD_MATERIALS:
        casework.material_upload(
            subject=subject, application=application, material_key=key, name=f"{key}.pdf", data=PDF
        )
    application.refresh_from_db()
    application = casework.application_submit(subject=subject, application=application)
    number = application.number
    act("clerk", open_item(number, "accept"), "accept")
    act("health_reviewer", open_item(number, "hygiene_review"), "pass")
    act("market_reviewer", open_item(number, "market_review"), "pass")
    act("market_approver", open_item(number, "decide"), "approve")
    deliver_due()
    return License.objects.get(application_number=number)


def test_approval_issues_a_signed_license_with_a_valid_identifier(demo_catalog):
    row = approved_food_license()
    parsed = parse_license_identifier(row.identifier)
    assert parsed.type_code == row.license_type.code
    assert parsed.issuer_code == row.issuer.uscc
    assert row.license_type.key == "food_business_license"
    assert row.holder_kind == "organisation"
    assert row.holder_code_type == "001"
    assert row.holder_enterprise is not None
    assert row.valid_until == row.issued_on.replace(year=row.issued_on.year + 5) - dt.timedelta(1)
    assert dict(row.data)["经营者名称"] == "示范小吃店"
    assert services.signature_ok(row)
    text = PdfReader(io.BytesIO(row.pdf.read())).pages[0].extract_text()
    assert "食品经营许可证" in text
    assert "示范小吃店" in text
    assert row.issuer.name in text
    from onewindow.audit.models import AuditEntry

    issued = AuditEntry.objects.get(action="license.issue", object_id=row.identifier)
    assert issued.detail["digest"] == row.digest  # the whole 70-character identifier is kept
    # Delivered twice (a retried event), it is still one license.
    assert services.license_issue_for_application(number=row.application_number) == row
    assert License.objects.filter(application_number=row.application_number).count() == 1


def test_verification_says_valid_and_is_logged(demo_catalog, client):
    row = approved_food_license()
    response = client.get(f"/api/v1/licenses/{row.identifier}/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["signature_ok"] is True
    assert body["status"] == "valid"
    assert body["issuer"] == row.issuer.name
    page = client.get(f"/verify/{row.identifier}")
    assert page.status_code == 200
    assert row.license_type.name in page.content.decode()
    logged = list(Verification.objects.filter(license=row).values_list("channel", "valid"))
    assert sorted(logged) == [("api", True), ("page", True)]


def test_a_forged_identifier_fails_on_its_check_character(demo_catalog, client):
    row = approved_food_license()
    body_chars = row.identifier[:-1]
    wrong = "0" if row.identifier[-1] != "0" else "1"
    forged = client.get(f"/api/v1/licenses/{body_chars}{wrong}/verify").json()
    assert forged["valid"] is False
    assert forged["reason"] == "check_character"
    assert client.get("/api/v1/licenses/not-an-identifier/verify").json()["reason"] == "malformed"
    assert Verification.objects.filter(valid=False).count() == 2


def test_tampered_data_fails_the_sm2_signature(demo_catalog, client):
    row = approved_food_license()
    License.objects.filter(pk=row.pk).update(holder_name="别人的公司")
    body = client.get(f"/api/v1/licenses/{row.identifier}/verify").json()
    assert body["valid"] is False
    assert body["signature_ok"] is False
    assert body["reason"] == "signature"


def test_the_pdf_checks_and_a_one_byte_change_fails(demo_catalog, client):
    row = approved_food_license()
    document = row.pdf.read()
    ok = client.post(
        f"/api/v1/licenses/{row.identifier}/verify-pdf",
        {"file": io.BytesIO(document)},
    ).json()
    assert ok["valid"] is True
    position = document.index(b"/Type /Page") if b"/Type /Page" in document else 200
    changed = document[:position] + bytes([document[position] ^ 1]) + document[position + 1 :]
    bad = client.post(
        f"/api/v1/licenses/{row.identifier}/verify-pdf",
        {"file": io.BytesIO(changed)},
    ).json()
    assert bad["valid"] is False
    assert bad["reason"].startswith("pdf_")


def test_revocation_shows_at_once_in_verification(demo_catalog, client):
    row = approved_food_license()
    with pytest.raises(ApiError) as refused:  # a reviewer may not, nor another department
        services.license_status_change(
            subject=subject_for("market_reviewer"),
            identifier=row.identifier,
            action="revoke",
            reason="虚假材料",
        )
    assert refused.value.error.code == "LICENSE_NOT_ISSUER"
    with pytest.raises(ApiError) as no_reason:
        services.license_status_change(
            subject=subject_for("market_approver"),
            identifier=row.identifier,
            action="revoke",
            reason=" ",
        )
    assert no_reason.value.error.code == "LICENSE_REASON_REQUIRED"
    services.license_status_change(
        subject=subject_for("market_approver"),
        identifier=row.identifier,
        action="suspend",
        reason="责令停业整顿",
    )
    body = client.get(f"/api/v1/licenses/{row.identifier}/verify").json()
    assert (body["valid"], body["status"]) == (False, "suspended")
    services.license_status_change(
        subject=subject_for("market_approver"),
        identifier=row.identifier,
        action="revoke",
        reason="以欺骗手段取得许可",
    )
    body = client.get(f"/api/v1/licenses/{row.identifier}/verify").json()
    assert (body["valid"], body["status"], body["reason"]) == (False, "revoked", "revoked")
    page = client.get(f"/verify/{row.identifier}").content.decode()
    assert "以欺骗手段取得许可" in page
    with pytest.raises(ApiError) as again:
        services.license_status_change(
            subject=subject_for("market_approver"),
            identifier=row.identifier,
            action="restore",
            reason="x",
        )
    assert again.value.error.code == "LICENSE_STATUS_CHANGE"
    row.refresh_from_db()
    assert row.status == Status.REVOKED
    assert [c.status_to for c in row.changes.all()] == ["suspended", "revoked"]


def test_the_wallet_lists_the_enterprise_license_and_serves_the_pdf(demo_catalog, client):
    from onewindow import demo

    row = approved_food_license()
    assert page_login(client, "lisi", demo_account("lisi")["password"]).status_code == 302
    assert client.get("/api/v1/licenses").json() == []  # lisi's own wallet: none
    client.post("/accounts/enterprises/", {"uscc": demo.ENTERPRISE_USCC})
    listed = {item["type_name"]: item for item in client.get("/api/v1/licenses").json()}
    assert set(listed) == {"食品经营许可证", "营业执照"}  # the demo enterprise's 营业执照 is seeded
    assert listed["食品经营许可证"]["identifier"] == row.identifier
    assert listed["食品经营许可证"]["status"] == "valid"
    assert listed["食品经营许可证"]["holder_code"] == demo.ENTERPRISE_USCC
    pdf = client.get(f"/api/v1/licenses/{row.identifier}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    page = client.get("/licenses/").content.decode()
    assert row.license_type.name in page
    assert f"/licenses/{row.identifier}/" in page
    other = api_login(client, "zhangsan", demo_account("zhangsan")["password"]).json()
    hidden = client.get(
        f"/api/v1/licenses/{row.identifier}",
        HTTP_AUTHORIZATION=f"Bearer {other['access_token']}",
    )
    assert hidden.status_code == 404


def test_a_rotated_key_still_verifies_earlier_licenses(demo_catalog, client):
    row = approved_food_license()
    old = row.signing_key
    new = keys.key_create(department=row.issuer, actor="test")
    old.refresh_from_db()
    assert old.retired_at is not None
    assert new.retired_at is None
    assert SigningKey.objects.filter(department=row.issuer, retired_at__isnull=True).count() == 1
    body = client.get(f"/api/v1/licenses/{row.identifier}/verify").json()
    assert body["valid"] is True
    assert body["signature_ok"] is True


def test_the_issuing_department_revokes_from_its_pages(demo_catalog, client):
    row = approved_food_license()
    assert page_login(client, "market_approver", demo_account("market_approver")["password"])
    register = client.get("/licenses/issued/", {"q": row.application_number}).content.decode()
    assert row.identifier in register
    page = client.get(f"/licenses/{row.identifier}/").content.decode()
    assert 'name="action"' in page
    assert 'value="revoke"' in page
    empty = client.post(f"/licenses/{row.identifier}/status", {"action": "revoke", "reason": ""})
    assert empty.status_code == 302
    row.refresh_from_db()
    assert row.status == Status.VALID  # nothing changed without a reason
    client.post(f"/licenses/{row.identifier}/status", {"action": "revoke", "reason": "许可被撤销"})
    row.refresh_from_db()
    assert (row.status, row.status_reason) == (Status.REVOKED, "许可被撤销")
    outsider = Client()
    page_login(outsider, "health_reviewer", demo_account("health_reviewer")["password"])
    assert outsider.get(f"/licenses/{row.identifier}/").status_code == 404
    assert row.identifier not in outsider.get("/licenses/issued/").content.decode()


def test_the_qr_code_opens_the_page_that_says_valid(demo_catalog, client, settings):
    import zxingcpp

    row = approved_food_license()
    image = PdfReader(io.BytesIO(row.pdf.read())).pages[0].images[0].image
    (code,) = zxingcpp.read_barcodes(image)
    assert code.text == f"{settings.PUBLIC_URL}/verify/{row.identifier}"
    page = client.get(code.text.removeprefix(settings.PUBLIC_URL))
    assert page.status_code == 200
    text = page.content.decode()
    assert "核验结果：有效" in text
    assert row.license_type.name in text


def test_public_verification_is_limited_per_address(demo_catalog, client, settings):
    row = approved_food_license()
    settings.ONEWINDOW_VERIFY_RATE_PER_MINUTE = 3
    for _ in range(3):
        assert client.get(f"/api/v1/licenses/{row.identifier}/verify").status_code == 200
    limited = client.get(f"/api/v1/licenses/{row.identifier}/verify")
    assert limited.status_code == 429
    assert limited.json()["code"] == "RATE_LIMITED"
    assert client.get(f"/verify/{row.identifier}").status_code == 429
    assert Verification.objects.filter(license=row).count() == 3  # refused ones read nothing


def test_a_person_license_is_issued_to_the_applicant_with_the_id_number_masked(
    demo_catalog, client
):
    """社会保障卡: the holder is the applicant; name and ID number come from their real-name
    data (an audited read), and verification shows them masked."""
    from onewindow import demo
    from onewindow.audit.models import AuditEntry

    zhangsan = next(a for a in demo.CITIZENS if a.username == "zhangsan")
    subject = subject_for("zhangsan")
    application = casework.application_create(
        subject=subject,
        service_code="social_security_card",
        form_data={
            "application_type": "first",
            "applicant_name": "张三",
            "applicant_id_number": zhangsan.id_number,
            "applicant_phone": "13800000001",
            "bank": "icbc",
            "delivery_method": "electronic",
        },
    )
    application = casework.application_submit(subject=subject, application=application)
    for username, step, action in (
        ("clerk", "accept", "accept"),
        ("hrss_reviewer", "review", "pass"),
        ("hrss_approver", "decide", "approve"),
    ):
        act(username, open_item(application.number, step), action)
    deliver_due()
    row = License.objects.get(application_number=application.number)
    assert row.license_type.key == "social_security_card"
    assert row.holder_user.username == "zhangsan"
    assert (row.holder_kind, row.holder_code_type) == ("person", "111")
    assert row.holder_code_masked != zhangsan.id_number
    assert row.holder_code_masked[-4:] == zhangsan.id_number[-4:]
    assert zhangsan.id_number not in row.holder_code_encrypted
    assert AuditEntry.objects.filter(
        action="personal_data.read", detail__purpose=f"license.issue {application.number}"
    ).exists()
    body = client.get(f"/api/v1/licenses/{row.identifier}/verify").json()
    assert body["valid"] is True
    assert zhangsan.id_number not in body["holder"]
    assert row.holder_name not in body["holder"]  # the name is masked too
    text = PdfReader(io.BytesIO(row.pdf.read())).pages[0].extract_text()
    assert "社会保障卡" in text
    assert zhangsan.id_number not in text  # the PDF prints the masked number


def test_validity_from_29_february_ends_the_day_before_1_march():
    assert services._valid_until(dt.date(2024, 2, 29), 5) == dt.date(2029, 2, 28)
    assert services._valid_until(dt.date(2024, 3, 1), 5) == dt.date(2029, 2, 28)
    assert services._valid_until(dt.date(2024, 2, 29), None) is None


def test_a_retyped_identifier_is_found(demo_catalog, client):
    row = approved_food_license()
    typed = f"  {row.identifier.lower()} "
    assert services.license_verify(identifier=typed).valid


def test_a_second_food_license_does_not_cancel_the_first(demo_catalog):
    first = approved_food_license()
    second = approved_food_license()
    first.refresh_from_db()
    assert first.status == Status.VALID
    assert second.status == Status.VALID
    assert first.identifier != second.identifier
