"""First-party tokens: login, the masked profile, refresh rotation, logout, the TOTP step,
staff password expiry, and tokens kept only as checksums."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from tests.conftest import api_login, demo_account, totp_now

pytestmark = pytest.mark.django_db


def _json(response) -> dict:
    return json.loads(response.content)


def _login(client: Client, username: str, *, otp: bool = False) -> dict:
    account = demo_account(username)
    code = totp_now(account["totp_secret"]) if otp else None
    response = api_login(client, username, account["password"], code)
    assert response.status_code == 200, response.content
    return _json(response)


def _bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _me(client: Client, token: str):
    return client.get("/api/v1/me", **_bearer(token))


def _refresh(client: Client, refresh_token: str):
    return client.post(
        "/api/v1/auth/refresh", {"refresh_token": refresh_token}, content_type="application/json"
    )


def _wrong_otp(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    now = int(time.time()) // 30
    valid = {format_hotp_value(hotp_value(secret, now + d)) for d in range(-3, 4)}
    candidate = 123456
    while format_hotp_value(candidate) in valid:
        candidate += 1
    return format_hotp_value(candidate)


def test_login_returns_a_token_pair(client, demo_city):
    from django.conf import settings

    body = _login(client, "zhangsan")
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.FIRST_PARTY_ACCESS_TOKEN_SECONDS > 0
    assert len(body["access_token"]) >= 32
    assert len(body["refresh_token"]) >= 32
    assert body["access_token"] != body["refresh_token"]


def test_me_shows_masked_identifiers_only(client, demo_city):
    account = demo_account("zhangsan")
    token = _login(client, "zhangsan")["access_token"]
    response = _me(client, token)
    assert response.status_code == 200, response.content
    me = _json(response)
    id_number, phone = account["id_number"], account["phone"]
    assert me["username"] == "zhangsan"
    assert me["kind"] == "citizen"
    assert me["id_number"] == id_number[:3] + "*" * 11 + id_number[-4:]
    assert me["phone"] == "138****0001"
    assert me["real_name"] == "张*"
    assert me["mfa"] is False
    raw = response.content.decode()
    assert id_number not in raw
    assert phone not in raw
    assert "张三" not in raw


def test_me_lists_enterprises_with_the_relation(client, demo_city):
    from onewindow.datahub.demo import problem_enterprise_uscc
    from onewindow.demo import ENTERPRISE_USCC

    lisi = _json(_me(client, _login(client, "lisi")["access_token"]))
    wangwu = _json(_me(client, _login(client, "wangwu")["access_token"]))
    zhangsan = _json(_me(client, _login(client, "zhangsan")["access_token"]))
    assert [(e["uscc"], e["relation"]) for e in lisi["enterprises"]] == [
        (ENTERPRISE_USCC, "legal_representative")
    ]
    assert sorted((e["uscc"], e["relation"]) for e in wangwu["enterprises"]) == sorted(
        [(ENTERPRISE_USCC, "agent"), (problem_enterprise_uscc(), "legal_representative")]
    )
    assert zhangsan["enterprises"] == []


def test_me_needs_a_valid_token(client, demo_city):
    assert client.get("/api/v1/me").status_code == 401
    response = _me(client, "not-a-token")
    assert response.status_code == 401
    assert _json(response)["code"] == "NOT_AUTHENTICATED"


def test_refresh_rotates_the_pair(client, demo_city):
    first = _login(client, "zhangsan")
    response = _refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.content
    second = _json(response)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert _me(client, second["access_token"]).status_code == 200
    # The old pair is spent: neither the refresh token nor its access token work any more.
    again = _refresh(client, first["refresh_token"])
    assert again.status_code == 401
    assert _json(again)["code"] == "TOKEN_INVALID"
    assert _me(client, first["access_token"]).status_code == 401
    # The new refresh token works once.
    assert _refresh(client, second["refresh_token"]).status_code == 200


def test_refresh_with_garbage_is_token_invalid(client, demo_city):
    response = _refresh(client, "garbage")
    assert response.status_code == 401
    assert _json(response)["code"] == "TOKEN_INVALID"


def test_an_access_token_is_not_a_refresh_token(client, demo_city):
    pair = _login(client, "zhangsan")
    response = _refresh(client, pair["access_token"])
    assert response.status_code == 401
    assert _json(response)["code"] == "TOKEN_INVALID"


def test_refresh_refused_after_seven_days(client, demo_city):
    from oauth2_provider.models import RefreshToken

    pair = _login(client, "zhangsan")
    RefreshToken.objects.filter(user__username="zhangsan").update(
        created=timezone.now() - dt.timedelta(days=7, minutes=1)
    )
    response = _refresh(client, pair["refresh_token"])
    assert response.status_code == 401
    assert _json(response)["code"] == "TOKEN_INVALID"


def test_expired_access_token_is_refused(client, demo_city):
    from oauth2_provider.models import AccessToken

    token = _login(client, "zhangsan")["access_token"]
    AccessToken.objects.filter(user__username="zhangsan").update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    assert _me(client, token).status_code == 401


def test_logout_revokes_the_tokens(client, demo_city):
    pair = _login(client, "zhangsan")
    assert _me(client, pair["access_token"]).status_code == 200
    response = client.post("/api/v1/auth/logout", **_bearer(pair["access_token"]))
    assert response.status_code == 204
    assert _me(client, pair["access_token"]).status_code == 401
    refreshed = _refresh(client, pair["refresh_token"])
    assert refreshed.status_code == 401
    assert _json(refreshed)["code"] == "TOKEN_INVALID"


def test_logout_of_one_device_keeps_the_other(demo_city):
    phone, kiosk = Client(), Client()
    a = _login(phone, "zhangsan")["access_token"]
    b = _login(kiosk, "zhangsan")["access_token"]
    assert phone.post("/api/v1/auth/logout", **_bearer(a)).status_code == 204
    assert _me(phone, a).status_code == 401
    assert _me(kiosk, b).status_code == 200


def test_logout_needs_a_token(client, demo_city):
    assert client.post("/api/v1/auth/logout").status_code == 401


def test_admin_without_otp_is_mfa_required(client, demo_city):
    account = demo_account("sysadmin")
    response = api_login(client, "sysadmin", account["password"])
    assert response.status_code == 401
    body = _json(response)
    assert body["code"] == "MFA_REQUIRED"
    assert "access_token" not in body


def test_admin_with_a_wrong_otp_is_mfa_invalid(client, demo_city):
    account = demo_account("sysadmin")
    response = api_login(
        client, "sysadmin", account["password"], _wrong_otp(account["totp_secret"])
    )
    assert response.status_code == 401
    body = _json(response)
    assert body["code"] == "MFA_INVALID"
    assert "access_token" not in body


def test_wrong_password_with_a_right_otp_is_invalid_credentials(client, demo_city):
    account = demo_account("sysadmin")
    response = api_login(client, "sysadmin", "Wrong-Password-1", totp_now(account["totp_secret"]))
    assert response.status_code == 401
    assert _json(response)["code"] == "INVALID_CREDENTIALS"


def test_admin_with_the_current_otp_gets_an_mfa_token(client, demo_city):
    from oauth2_provider.models import AccessToken

    body = _login(client, "sysadmin", otp=True)
    me = _me(client, body["access_token"])
    assert me.status_code == 200, me.content
    assert _json(me)["mfa"] is True
    assert _json(me)["roles"] == ["system_admin"]
    token = AccessToken.objects.get(user__username="sysadmin")
    assert "mfa" in token.scope.split()


def test_an_otp_cannot_be_used_twice(client, demo_city):
    account = demo_account("sysadmin")
    code = totp_now(account["totp_secret"])
    assert api_login(client, "sysadmin", account["password"], code).status_code == 200
    replay = api_login(client, "sysadmin", account["password"], code)
    assert replay.status_code == 401
    assert _json(replay)["code"] == "MFA_INVALID"


def test_wrong_otps_count_towards_the_lockout(demo_city):
    account = demo_account("sysadmin")
    client = Client(REMOTE_ADDR="10.1.0.1")
    codes = [_json(api_login(client, "sysadmin", account["password"], "000000")) for _ in range(5)]
    # (000000 could be the current code once in a million runs; then this test is meaningless.)
    assert [c["code"] for c in codes[:4]] == ["MFA_INVALID"] * 4
    assert codes[4]["code"] == "ACCOUNT_LOCKED"
    cache.clear()
    locked = api_login(client, "sysadmin", account["password"], totp_now(account["totp_secret"]))
    assert locked.status_code == 429
    assert _json(locked)["code"] == "ACCOUNT_LOCKED"


def test_citizen_rotation_keeps_no_mfa_scope(client, demo_city):
    pair = _login(client, "zhangsan")
    second = _json(_refresh(client, pair["refresh_token"]))
    assert _json(_me(client, second["access_token"]))["mfa"] is False


def test_refresh_keeps_the_mfa_scope_of_the_login(client, demo_city):
    pair = _login(client, "auditor", otp=True)
    second = _json(_refresh(client, pair["refresh_token"]))
    assert _json(_me(client, second["access_token"]))["mfa"] is True


def test_expired_staff_password_is_refused_at_login(client, demo_city):
    from onewindow.identity.models import User

    account = demo_account("clerk")
    assert api_login(client, "clerk", account["password"]).status_code == 200
    User.objects.filter(username="clerk").update(
        password_changed_at=timezone.now() - dt.timedelta(days=91)
    )
    response = api_login(client, "clerk", account["password"])
    assert response.status_code == 403
    body = _json(response)
    assert body["code"] == "PASSWORD_EXPIRED"
    assert "access_token" not in body


def test_expired_staff_password_stops_existing_tokens(client, demo_city, monkeypatch):
    from onewindow.identity import passwords
    from onewindow.identity.models import User

    token = _login(client, "clerk")["access_token"]
    assert _me(client, token).status_code == 200  # the token is now in the shared cache
    User.objects.filter(username="clerk").update(password_changed_at=timezone.now())

    class NinetyOneDaysLater:
        @staticmethod
        def now() -> dt.datetime:
            return timezone.now() + dt.timedelta(days=91)

    monkeypatch.setattr(passwords, "timezone", NinetyOneDaysLater)
    response = _me(client, token)
    assert response.status_code == 403
    assert _json(response)["code"] == "PASSWORD_EXPIRED"


def test_staff_password_within_ninety_days_is_fine(client, demo_city):
    from onewindow.identity.models import User

    User.objects.filter(username="clerk").update(
        password_changed_at=timezone.now() - dt.timedelta(days=89)
    )
    assert api_login(client, "clerk", demo_account("clerk")["password"]).status_code == 200


def test_citizen_passwords_do_not_expire(client, demo_city):
    from onewindow.identity.models import User

    User.objects.filter(username="zhangsan").update(
        password_changed_at=timezone.now() - dt.timedelta(days=400)
    )
    assert api_login(client, "zhangsan", demo_account("zhangsan")["password"]).status_code == 200


def test_tokens_are_stored_only_as_checksums(client, demo_city):
    from oauth2_provider.models import AccessToken, RefreshToken

    pair = _login(client, "zhangsan")
    access = AccessToken.objects.get(user__username="zhangsan")
    refresh = RefreshToken.objects.get(user__username="zhangsan")
    assert access.token == ""
    assert refresh.token == ""
    assert access.token_checksum == hashlib.sha256(pair["access_token"].encode()).hexdigest()
    assert refresh.token_checksum == hashlib.sha256(pair["refresh_token"].encode()).hexdigest()
    # Nothing in either row holds a raw token.
    for row in (access, refresh):
        values = [str(v) for v in row.__dict__.values()]
        assert pair["access_token"] not in values
        assert pair["refresh_token"] not in values


def test_login_is_audited_without_the_password(client, demo_city):
    from onewindow.audit.models import AuditEntry

    account = demo_account("zhangsan")
    _login(client, "zhangsan")
    entry = AuditEntry.objects.filter(action="auth.login", actor="zhangsan").first()
    assert entry is not None
    assert entry.detail["channel"] == "api"
    assert account["password"] not in json.dumps(entry.detail)


# --- the token cache (ADR 0015) --------------------------------------------------------------


def _token_reads(client: Client, token: str) -> tuple[int, int]:
    """(status of GET /api/v1/me, statements that read the access-token table)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status = _me(client, token).status_code
    reads = [q for q in captured.captured_queries if "oauth2_provider_accesstoken" in q["sql"]]
    return status, len(reads)


def test_a_persons_token_is_read_once_then_served_from_the_cache(client, demo_city):
    token = _login(client, "zhangsan")["access_token"]
    assert _token_reads(client, token) == (200, 1)
    assert _token_reads(client, token) == (200, 0)
    assert _token_reads(client, token) == (200, 0)


def test_the_cached_entry_holds_no_password_hash(client, demo_city):
    import pickle

    from onewindow.identity.access import token_cache_key
    from onewindow.identity.models import User

    token = _login(client, "clerk")["access_token"]
    assert _me(client, token).status_code == 200
    entry = cache.get(token_cache_key(hashlib.sha256(token.encode()).hexdigest()))
    assert entry is not None
    assert entry["kind"] == "staff"
    stored = pickle.dumps(entry)
    password_hash = User.objects.get(username="clerk").password
    assert password_hash.encode() not in stored
    assert "password" in entry["user"].get_deferred_fields()
    assert entry["roles"]
    assert entry["department_id"] is not None


def test_a_cached_user_saved_by_a_request_keeps_its_password(client, demo_city):
    # The cached copy leaves the hash deferred: a save writes only what it loaded.
    from onewindow.identity.access import access_token_subject
    from onewindow.identity.models import User

    token = _login(client, "zhangsan")["access_token"]
    before = User.objects.get(username="zhangsan").password
    assert _me(client, token).status_code == 200
    user = access_token_subject(token).user
    assert "password" in user.get_deferred_fields()
    user.display_name = "张三（已改）"
    user.save()
    after = User.objects.get(username="zhangsan")
    assert after.password == before
    assert after.display_name == "张三（已改）"
    assert _login(client, "zhangsan")["access_token"]


def test_a_deactivated_account_is_refused_on_the_next_request(client, demo_city):
    from onewindow.identity.models import User

    token = _login(client, "zhangsan")["access_token"]
    assert _me(client, token).status_code == 200
    user = User.objects.get(username="zhangsan")
    user.is_active = False
    user.save()
    assert _me(client, token).status_code == 401


def test_a_role_taken_away_applies_on_the_next_request(client, demo_city):
    from onewindow.identity.models import RoleAssignment

    token = _login(client, "clerk")["access_token"]
    roles = set(_json(_me(client, token))["roles"])
    assert roles
    RoleAssignment.objects.filter(user__username="clerk", role=min(roles)).delete()
    assert set(_json(_me(client, token))["roles"]) == roles - {min(roles)}


def test_a_move_to_another_department_applies_on_the_next_request(client, demo_city):
    from onewindow.identity.models import StaffProfile
    from onewindow.org.models import Department

    token = _login(client, "clerk")["access_token"]
    first = _json(_me(client, token))["department"]
    staff = StaffProfile.objects.get(user__username="clerk")
    staff.department = Department.objects.exclude(code=first).order_by("code").first()
    staff.save()
    assert _json(_me(client, token))["department"] == staff.department.code != first


def test_a_token_revoked_elsewhere_is_refused_on_the_next_request(client, demo_city):
    from oauth2_provider.models import AccessToken

    from onewindow.identity import services

    token = _login(client, "zhangsan")["access_token"]
    assert _me(client, token).status_code == 200
    checksum = hashlib.sha256(token.encode()).hexdigest()
    services.token_revoke(access=AccessToken.objects.get(token_checksum=checksum))
    assert _me(client, token).status_code == 401
