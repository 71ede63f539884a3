"""The admin console and the admin API: only the three admin roles, only after a TOTP step; one
person holds at most one admin role (三员分立)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from tests.conftest import api_login, demo_account, page_login, totp_now

pytestmark = pytest.mark.django_db

NEW_ADMIN_PASSWORD = "Fresh-Admin-2026!"


@pytest.fixture
def unenrolled_admin(demo_city):
    """A security admin who has not set up an authenticator yet."""
    from onewindow.identity import services
    from onewindow.org.models import Department, Region

    return services.staff_upsert(
        username="secadmin2",
        display_name="新安全管理员",
        department=Department.objects.get(code="gov_services"),
        region=Region.objects.get(code="990100"),
        roles=["security_admin"],
        password=NEW_ADMIN_PASSWORD,
    )


def _templates(response) -> list[str]:
    return [t.name for t in response.templates]


def _assert_no_admin(response) -> None:
    """The response, after any redirects, is not a page of the admin console."""
    names = _templates(response)
    assert not any(name.startswith("admin/") for name in names), names
    assert b"/admin/logout/" not in response.content
    assert b"/admin/identity/user/" not in response.content


def _json(response) -> dict:
    return json.loads(response.content)


def _token(client: Client, username: str, *, otp: bool = True) -> str:
    account = demo_account(username)
    code = totp_now(account["totp_secret"]) if otp else None
    response = api_login(client, username, account["password"], code)
    assert response.status_code == 200, response.content
    return _json(response)["access_token"]


def _bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- the console ----------------------------------------------------------------------------


def test_admin_without_an_authenticator_cannot_reach_the_console(client, unenrolled_admin):
    from onewindow.identity.models import User

    # The password of a new account counts as changed now (not expired), so the password
    # policy is not what keeps this admin out.
    assert User.objects.get(username="secadmin2").password_changed_at is not None
    response = page_login(client, "secadmin2", NEW_ADMIN_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(unenrolled_admin.pk)

    for path in ("/admin/", "/admin/identity/user/"):
        response = client.get(path, follow=True)
        _assert_no_admin(response)
        assert response.status_code == 403, path
        assert "identity/admin_mfa_required.html" in _templates(response), path
        assert response.context["enrolled"] is False
        assert b"/accounts/2fa/totp/activate/" in response.content


def test_admin_without_an_authenticator_gets_no_token(client, unenrolled_admin):
    response = api_login(client, "secadmin2", NEW_ADMIN_PASSWORD)
    assert response.status_code == 403
    body = _json(response)
    assert body["code"] == "MFA_ENROLMENT_REQUIRED"
    assert "access_token" not in body
    # An otp does not help without an authenticator either.
    response = api_login(client, "secadmin2", NEW_ADMIN_PASSWORD, "123456")
    assert _json(response)["code"] == "MFA_ENROLMENT_REQUIRED"


def test_totp_verified_admin_reaches_the_console(client, demo_city):
    account = demo_account("secadmin")
    page_login(client, "secadmin", account["password"], totp_secret=account["totp_secret"])
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "admin/index.html" in _templates(response)
    response = client.get("/admin/identity/user/")
    assert response.status_code == 200
    assert "admin/change_list.html" in _templates(response)


def test_page_login_of_an_enrolled_admin_asks_for_the_code(client, demo_city):
    account = demo_account("sysadmin")
    response = page_login(client, "sysadmin", account["password"])
    assert response.status_code == 302
    assert "2fa" in response["Location"]
    assert "_auth_user_id" not in client.session
    _assert_no_admin(client.get("/admin/", follow=True))


def test_enrolled_admin_without_the_totp_step_is_kept_out(client, demo_city):
    from onewindow.identity.models import User

    client.force_login(User.objects.get(username="sysadmin"))
    for path in ("/admin/", "/admin/org/department/"):
        response = client.get(path, follow=True)
        _assert_no_admin(response)
        assert response.status_code == 403, path
        assert "identity/admin_mfa_required.html" in _templates(response)
        assert response.context["enrolled"] is True


def test_staff_without_an_admin_role_is_refused_the_console(client, demo_city):
    page_login(client, "clerk", demo_account("clerk")["password"])
    response = client.get("/admin/", follow=True)
    _assert_no_admin(response)
    assert response.status_code == 403


def test_anonymous_visitor_is_sent_to_the_platform_login(client, demo_city):
    response = client.get("/admin/", follow=True)
    _assert_no_admin(response)
    assert response.redirect_chain
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")


# --- the admin API --------------------------------------------------------------------------


def test_audit_entries_need_an_auditor_token_with_otp(client, demo_city):
    from onewindow.identity import services
    from onewindow.identity.models import User

    auditor = User.objects.get(username="auditor")
    no_mfa, _, _ = services.token_issue(user=auditor, mfa=False)
    response = client.get("/api/v1/admin/audit-entries", **_bearer(no_mfa))
    # Enrolled, but this token was issued without the code: log in again with it.
    assert response.status_code == 401
    assert _json(response)["code"] == "MFA_REQUIRED"

    token = _token(client, "auditor")
    response = client.get("/api/v1/admin/audit-entries", **_bearer(token))
    assert response.status_code == 200, response.content
    entries = _json(response)
    assert isinstance(entries, list)
    assert entries
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
    assert "auth.login" in {e["action"] for e in entries}

    mine = client.get(
        "/api/v1/admin/audit-entries", {"actor": "auditor", "limit": 2}, **_bearer(token)
    )
    assert mine.status_code == 200
    assert 0 < len(_json(mine)) <= 2
    assert {e["actor"] for e in _json(mine)} == {"auditor"}


def test_audit_entries_refused_to_other_admins_and_citizens(client, demo_city):
    for username in ("secadmin", "sysadmin"):
        response = client.get("/api/v1/admin/audit-entries", **_bearer(_token(client, username)))
        assert response.status_code == 403, username
        assert _json(response)["code"] == "PERMISSION_DENIED"
    citizen = _token(client, "zhangsan", otp=False)
    assert client.get("/api/v1/admin/audit-entries", **_bearer(citizen)).status_code == 403
    assert client.get("/api/v1/admin/audit-entries").status_code == 401


def test_audit_entries_through_a_session_need_the_totp_step(client, demo_city):
    from onewindow.identity.models import User

    client.force_login(User.objects.get(username="auditor"))
    response = client.get("/api/v1/admin/audit-entries")
    assert response.status_code == 401
    assert _json(response)["code"] == "MFA_REQUIRED"

    verified = Client()
    account = demo_account("auditor")
    page_login(verified, "auditor", account["password"], totp_secret=account["totp_secret"])
    assert verified.get("/api/v1/admin/audit-entries").status_code == 200


def test_security_admin_lifts_a_lockout(demo_city):
    from axes.models import AccessAttempt

    secadmin = Client(REMOTE_ADDR="10.2.0.1")
    token = _token(secadmin, "secadmin")

    victim = Client(REMOTE_ADDR="10.2.0.2")
    password = demo_account("zhangsan")["password"]
    for _ in range(5):
        api_login(victim, "zhangsan", "Wrong-Password-1")
    assert api_login(victim, "zhangsan", password).status_code == 429

    listing = secadmin.get("/api/v1/admin/lockouts", **_bearer(token))
    assert listing.status_code == 200
    assert any(r["username"] == "zhangsan" and r["failures"] >= 5 for r in _json(listing))

    response = secadmin.post(
        "/api/v1/admin/lockouts/reset",
        {"username": "zhangsan"},
        content_type="application/json",
        **_bearer(token),
    )
    assert response.status_code == 204, response.content
    assert not AccessAttempt.objects.filter(username="zhangsan").exists()
    assert api_login(victim, "zhangsan", password).status_code == 200

    from onewindow.audit.models import AuditEntry

    entry = AuditEntry.objects.filter(action="admin.lockout_reset").first()
    assert entry is not None
    assert entry.actor == "secadmin"
    assert entry.detail["username"] == "zhangsan"


def test_lockout_reset_needs_something_to_reset(client, demo_city):
    token = _token(client, "secadmin")
    response = client.post(
        "/api/v1/admin/lockouts/reset", {}, content_type="application/json", **_bearer(token)
    )
    assert response.status_code == 422
    assert _json(response)["code"] == "VALIDATION_FAILED"


def test_lockout_reset_is_for_the_security_admin_only(demo_city):
    from axes.models import AccessAttempt

    victim = Client(REMOTE_ADDR="10.2.1.2")
    for _ in range(5):
        api_login(victim, "zhangsan", "Wrong-Password-1")
    before = AccessAttempt.objects.filter(username="zhangsan").count()
    assert before

    from onewindow.identity import services
    from onewindow.identity.models import User

    secadmin_no_mfa, _, _ = services.token_issue(
        user=User.objects.get(username="secadmin"), mfa=False
    )
    for label, token in (
        ("auditor", _token(Client(REMOTE_ADDR="10.2.1.3"), "auditor")),
        ("sysadmin", _token(Client(REMOTE_ADDR="10.2.1.4"), "sysadmin")),
        ("clerk", _token(Client(REMOTE_ADDR="10.2.1.5"), "clerk", otp=False)),
        ("secadmin without otp", secadmin_no_mfa),
    ):
        response = Client().post(
            "/api/v1/admin/lockouts/reset",
            {"username": "zhangsan"},
            content_type="application/json",
            **_bearer(token),
        )
        expected = (401, "MFA_REQUIRED") if label == "secadmin without otp" else (403, None)
        assert response.status_code == expected[0], label
        if expected[1]:
            assert _json(response)["code"] == expected[1]
    assert AccessAttempt.objects.filter(username="zhangsan").count() == before


# --- 三员分立: one admin role per person ------------------------------------------------------


def test_roles_set_refuses_two_admin_roles(demo_city):
    from onewindow.identity import services
    from onewindow.identity.models import RoleAssignment, User

    user = User.objects.get(username="sysadmin")
    with pytest.raises(ValidationError) as excinfo:
        services.roles_set(user=user, roles=["system_admin", "auditor"])
    assert "roles" in excinfo.value.message_dict
    assert set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True)) == {
        "system_admin"
    }


def test_roles_set_refuses_a_second_admin_role_added_later(demo_city):
    from onewindow.identity import services
    from onewindow.identity.models import User

    user = User.objects.get(username="clerk")
    services.roles_set(user=user, roles=["window_clerk", "auditor"])  # one admin role: fine
    with pytest.raises(ValidationError):
        services.roles_set(user=user, roles=["window_clerk", "auditor", "security_admin"])


def test_the_database_refuses_a_second_admin_role(demo_city):
    from onewindow.identity.models import RoleAssignment, User

    user = User.objects.get(username="secadmin")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role="auditor")
    # A non-admin role beside the admin role is allowed.
    RoleAssignment.objects.create(user=user, role="reviewer")
    assert set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True)) == {
        "security_admin",
        "reviewer",
    }


def test_roles_given_in_the_admin_console_take_effect(demo_city):
    """A role row added in the console goes through the service: groups and is_staff follow."""
    from onewindow.identity.models import User

    secadmin = demo_account("secadmin")
    console = Client()
    page_login(console, "secadmin", secadmin["password"], totp_secret=secadmin["totp_secret"])
    steward = User.objects.get(username="steward")
    assert not steward.is_staff
    change_url = f"/admin/identity/user/{steward.pk}/change/"
    page = console.get(change_url)
    assert page.status_code == 200
    form = {
        "username": "steward",
        "display_name": steward.display_name,
        "kind": "staff",
        "is_active": "on",
        "staff-TOTAL_FORMS": "1",
        "staff-INITIAL_FORMS": "1",
        "staff-MIN_NUM_FORMS": "0",
        "staff-MAX_NUM_FORMS": "1",
        "staff-0-id": str(steward.staff.pk),
        "staff-0-user": str(steward.pk),
        "staff-0-department": str(steward.staff.department_id),
        "staff-0-region": steward.staff.region_id,
        "staff-0-data_scope": "department",
        "roles-TOTAL_FORMS": "2",
        "roles-INITIAL_FORMS": "1",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-id": str(steward.roles.get().pk),
        "roles-0-user": str(steward.pk),
        "roles-0-role": "data_steward",
        "roles-1-id": "",
        "roles-1-user": str(steward.pk),
        "roles-1-role": "auditor",
    }
    response = console.post(change_url, form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    steward.refresh_from_db()
    assert steward.is_staff
    assert list(steward.groups.values_list("name", flat=True)) == ["auditor"]
