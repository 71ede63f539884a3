"""Logins, logouts, failed logins, permission denials and admin changes are audited."""

from __future__ import annotations

import pytest
from tests.conftest import demo_account, page_login

from onewindow.audit.models import AuditEntry
from onewindow.audit.services import audit_chain_verify

pytestmark = pytest.mark.django_db


def last(action: str) -> AuditEntry | None:
    return AuditEntry.objects.filter(action=action).order_by("-seq").first()


def test_login_and_logout_are_audited_with_ip_and_request_id(client, demo_city):
    account = demo_account("zhangsan")
    response = client.post(
        "/accounts/login/",
        {"login": "zhangsan", "password": account["password"]},
        HTTP_X_REQUEST_ID="req-login-0001",
    )
    assert response.status_code == 302
    entry = last("auth.login")
    assert entry.actor == "zhangsan"
    assert entry.outcome == "success"
    assert entry.ip == "127.0.0.1"
    assert entry.request_id == "req-login-0001"
    client.post("/accounts/logout/")
    assert last("auth.logout").actor == "zhangsan"
    assert audit_chain_verify().ok


def test_failed_login_is_audited_without_the_password(client, demo_city):
    response = client.post("/accounts/login/", {"login": "zhangsan", "password": "wrong-Pass-1"})
    assert response.status_code == 200  # the form is shown again
    entry = last("auth.login_failed")
    assert entry.outcome == "failure"
    assert entry.actor == "zhangsan"
    assert "wrong-Pass-1" not in str(entry.detail)


def test_permission_denial_on_a_page_is_audited(client, demo_city):
    account = demo_account("clerk")
    page_login(client, "clerk", account["password"])
    response = client.get("/accounts/enterprises/")  # citizens only
    assert response.status_code == 403
    entry = last("access.denied")
    assert entry.outcome == "denied"
    assert entry.actor == "clerk"
    assert entry.object_repr == "GET /accounts/enterprises/"


def test_admin_change_is_audited(client, demo_city):
    from onewindow.org.models import Department

    admin = demo_account("sysadmin")
    page_login(client, "sysadmin", admin["password"], totp_secret=admin["totp_secret"])
    dept = Department.objects.get(code="transport")
    form = {
        "code": dept.code,
        "name": "示范市交通运输局（改）",
        "short_name": dept.short_name,
        "uscc": dept.uscc,
        "region": dept.region_id,
        "parent": "",
        "phone": dept.phone,
        "address": dept.address,
        "is_active": "on",
    }
    response = client.post(f"/admin/org/department/{dept.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = last("admin.change")
    assert entry.actor == "sysadmin"
    assert entry.object_type == "org.department"
    assert entry.object_id == str(dept.pk)
    assert entry.object_repr == "示范市交通运输局（改）"
    assert audit_chain_verify().ok


def test_admin_rejects_a_department_with_a_bad_uscc(client, demo_city):
    from onewindow.org.models import Department

    admin = demo_account("sysadmin")
    page_login(client, "sysadmin", admin["password"], totp_secret=admin["totp_secret"])
    dept = Department.objects.get(code="transport")
    saved_uscc = dept.uscc
    form = {
        "code": dept.code,
        "name": dept.name,
        "short_name": dept.short_name,
        "uscc": dept.uscc[:-1] + ("0" if dept.uscc[-1] != "0" else "1"),
        "region": dept.region_id,
        "parent": "",
        "phone": "",
        "address": "",
        "is_active": "on",
    }
    response = client.post(f"/admin/org/department/{dept.pk}/change/", form)
    assert response.status_code == 200
    assert "校验码" in response.content.decode()
    assert Department.objects.get(code="transport").uscc == saved_uscc
    assert last("admin.change") is None


def test_audit_entries_cannot_be_changed_in_the_admin(client, demo_city):
    auditor = demo_account("auditor")
    page_login(client, "auditor", auditor["password"], totp_secret=auditor["totp_secret"])
    entry = AuditEntry.objects.order_by("-seq").first()
    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
