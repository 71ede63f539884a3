"""Who may see whom: profiles, enterprises and agents (经办人), and the enterprise switcher."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.utils import timezone
from tests.conftest import api_login, demo_account, page_login

pytestmark = pytest.mark.django_db


def _json(response) -> dict:
    return json.loads(response.content)


def _uscc() -> str:
    from onewindow.demo import ENTERPRISE_USCC

    return ENTERPRISE_USCC


class Api:
    """A first-party app logged in as one person (bearer token)."""

    def __init__(self, username: str) -> None:
        self.client = Client()
        response = api_login(self.client, username, demo_account(username)["password"])
        assert response.status_code == 200, response.content
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {_json(response)['access_token']}"}

    def get(self, path: str, **extra):
        return self.client.get(path, **self.auth, **extra)

    def post(self, path: str, body: dict):
        return self.client.post(path, body, content_type="application/json", **self.auth)

    def delete(self, path: str):
        return self.client.delete(path, **self.auth)


def _last(action: str):
    from onewindow.audit.models import AuditEntry

    return AuditEntry.objects.filter(action=action).order_by("-seq").first()


def _count(action: str) -> int:
    from onewindow.audit.models import AuditEntry

    return AuditEntry.objects.filter(action=action).count()


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert _json(response)["code"] == code


# --- profiles -------------------------------------------------------------------------------


def test_citizen_cannot_read_another_citizens_profile(demo_city):
    lisi = demo_account("lisi")
    before = _count("access.denied")
    response = Api("zhangsan").get("/api/v1/users/lisi")
    _assert_error(response, 403, "PERMISSION_DENIED")
    raw = response.content.decode()
    assert lisi["id_number"][-4:] not in raw
    assert "李" not in raw
    assert _count("access.denied") == before + 1
    denied = _last("access.denied")
    assert denied.outcome == "denied"
    assert denied.object_repr == "GET /api/v1/users/lisi"
    assert denied.actor == "zhangsan"
    assert _count("personal_data.read") == 0


def test_citizen_denied_through_the_session_is_audited_with_the_actor(client, demo_city):
    page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    response = client.get("/api/v1/users/lisi")
    _assert_error(response, 403, "PERMISSION_DENIED")
    denied = _last("access.denied")
    assert denied.actor == "zhangsan"
    assert denied.object_repr == "GET /api/v1/users/lisi"


def test_unknown_user_gets_the_same_denial(demo_city):
    zhangsan = Api("zhangsan")
    a, b = zhangsan.get("/api/v1/users/lisi"), zhangsan.get("/api/v1/users/nobody-here")
    assert a.status_code == b.status_code == 403
    assert (_json(a)["code"], _json(a)["message"]) == (_json(b)["code"], _json(b)["message"])


def test_citizen_reads_own_profile_by_username(demo_city):
    response = Api("zhangsan").get("/api/v1/users/zhangsan")
    assert response.status_code == 200
    assert _json(response)["phone"] == "138****0001"
    assert _count("personal_data.read") == 0  # one's own data is not a personal-data access


def test_staff_reads_a_profile_only_with_a_purpose(demo_city):
    lisi = demo_account("lisi")
    clerk = Api("clerk")
    _assert_error(clerk.get("/api/v1/users/lisi"), 403, "PERMISSION_DENIED")
    assert _count("personal_data.read") == 0

    purpose = "window intake: identity check of the applicant"
    response = clerk.get("/api/v1/users/lisi", HTTP_X_PURPOSE=purpose)
    assert response.status_code == 200, response.content
    profile = _json(response)
    assert profile["username"] == "lisi"
    assert profile["id_number"] == lisi["id_number"][:3] + "*" * 11 + lisi["id_number"][-4:]
    assert profile["phone"] == "138****0002"
    assert lisi["id_number"] not in response.content.decode()
    assert lisi["phone"] not in response.content.decode()

    entry = _last("personal_data.read")
    assert entry is not None
    assert entry.actor == "clerk"
    assert entry.object_repr == "lisi"
    assert entry.object_type == "identity.user"
    assert entry.detail["purpose"] == purpose


def test_staff_reads_through_the_session_with_a_purpose(client, demo_city):
    page_login(client, "market_reviewer", demo_account("market_reviewer")["password"])
    _assert_error(client.get("/api/v1/users/lisi"), 403, "PERMISSION_DENIED")
    assert _last("access.denied").actor == "market_reviewer"
    response = client.get("/api/v1/users/lisi", HTTP_X_PURPOSE="case 2026-0001")
    assert response.status_code == 200
    entry = _last("personal_data.read")
    assert (entry.actor, entry.detail["purpose"]) == ("market_reviewer", "case 2026-0001")


def test_role_denial_by_token_is_audited_with_the_actor(demo_city):
    response = Api("clerk").get("/api/v1/admin/lockouts")
    _assert_error(response, 403, "PERMISSION_DENIED")
    denied = _last("access.denied")
    assert (denied.actor, denied.object_repr) == ("clerk", "GET /api/v1/admin/lockouts")


# --- enterprises ----------------------------------------------------------------------------


def test_enterprise_visible_to_its_representative_and_agent_only(demo_city):
    path = f"/api/v1/enterprises/{_uscc()}"
    _assert_error(Api("zhangsan").get(path), 403, "PERMISSION_DENIED")
    lisi = Api("lisi").get(path)
    assert lisi.status_code == 200
    assert _json(lisi)["relation"] == "legal_representative"
    assert _json(lisi)["uscc"] == _uscc()
    assert _json(lisi)["legal_representative"] == "李*"
    wangwu = Api("wangwu").get(path)
    assert wangwu.status_code == 200
    assert _json(wangwu)["relation"] == "agent"


def test_unknown_enterprise_gets_the_same_denial(demo_city):
    from onewindow.demo import demo_uscc

    zhangsan = Api("zhangsan")
    a = zhangsan.get(f"/api/v1/enterprises/{_uscc()}")
    b = zhangsan.get(f"/api/v1/enterprises/{demo_uscc(77, '1', authority='9')}")
    assert a.status_code == b.status_code == 403
    assert _json(a)["message"] == _json(b)["message"]


def test_staff_cannot_use_the_citizen_enterprise_api(demo_city):
    _assert_error(Api("clerk").get(f"/api/v1/enterprises/{_uscc()}"), 403, "PERMISSION_DENIED")


def test_agent_may_act_within_the_grant_only(demo_city):
    wangwu = Api("wangwu")
    path = f"/api/v1/enterprises/{_uscc()}/act"
    assert wangwu.post(path, {"service_code": "enterprise_change"}).status_code == 204
    assert wangwu.post(path, {"service_code": "tax_registration_invoice"}).status_code == 204
    _assert_error(
        wangwu.post(path, {"service_code": "enterprise_deregistration"}), 403, "AGENT_OUT_OF_SCOPE"
    )
    # The representative may do anything; a stranger nothing.
    lisi = Api("lisi")
    assert lisi.post(path, {"service_code": "enterprise_deregistration"}).status_code == 204
    _assert_error(
        Api("zhangsan").post(path, {"service_code": "enterprise_change"}), 403, "PERMISSION_DENIED"
    )


def test_agent_cannot_list_or_add_agents(demo_city):
    wangwu = Api("wangwu")
    path = f"/api/v1/enterprises/{_uscc()}/agents"
    _assert_error(wangwu.get(path), 403, "PERMISSION_DENIED")
    expires = (timezone.now() + dt.timedelta(days=30)).isoformat()
    response = wangwu.post(path, {"agent": "zhangsan", "services": ["*"], "expires_at": expires})
    _assert_error(response, 403, "PERMISSION_DENIED")

    from onewindow.identity.models import AgentGrant

    assert not AgentGrant.objects.filter(agent__username="zhangsan").exists()
    assert _count("identity.agent_grant") == 1  # the demo seed's grant only


def test_agent_cannot_revoke_grants(demo_city):
    from onewindow.identity.models import AgentGrant

    grant = AgentGrant.objects.get(agent__username="wangwu")
    response = Api("wangwu").delete(f"/api/v1/enterprises/{_uscc()}/agents/{grant.pk}")
    _assert_error(response, 403, "PERMISSION_DENIED")
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_representative_grants_and_revokes_an_agent(demo_city):
    uscc = _uscc()
    lisi, zhangsan = Api("lisi"), Api("zhangsan")
    detail = f"/api/v1/enterprises/{uscc}"
    act = f"{detail}/act"
    _assert_error(zhangsan.get(detail), 403, "PERMISSION_DENIED")

    expires = timezone.now() + dt.timedelta(days=30)
    response = lisi.post(
        f"{detail}/agents",
        {"agent": "zhangsan", "services": ["enterprise_change"], "expires_at": expires.isoformat()},
    )
    assert response.status_code == 201, response.content
    grant = _json(response)
    assert grant["agent"] == "zhangsan"
    assert grant["services"] == ["enterprise_change"]
    assert grant["active"] is True
    assert grant["revoked_at"] is None

    listing = lisi.get(f"{detail}/agents")
    assert listing.status_code == 200
    assert {g["agent"] for g in _json(listing)} == {"zhangsan", "wangwu"}

    assert zhangsan.get(detail).status_code == 200
    assert _json(zhangsan.get(detail))["relation"] == "agent"
    assert zhangsan.post(act, {"service_code": "enterprise_change"}).status_code == 204
    _assert_error(
        zhangsan.post(act, {"service_code": "tax_registration_invoice"}), 403, "AGENT_OUT_OF_SCOPE"
    )

    granted = _last("identity.agent_grant")
    assert granted.actor == "lisi"
    assert granted.object_id == str(grant["id"])
    assert granted.detail["on_behalf_of"] == uscc
    assert granted.detail["services"] == ["enterprise_change"]

    revoked = lisi.delete(f"{detail}/agents/{grant['id']}")
    assert revoked.status_code == 200, revoked.content
    assert _json(revoked)["active"] is False
    assert _json(revoked)["revoked_at"] is not None

    _assert_error(zhangsan.get(detail), 403, "PERMISSION_DENIED")
    _assert_error(
        zhangsan.post(act, {"service_code": "enterprise_change"}), 403, "PERMISSION_DENIED"
    )

    entry = _last("identity.agent_revoke")
    assert entry.actor == "lisi"
    assert entry.object_id == str(grant["id"])
    assert entry.detail["on_behalf_of"] == uscc
    # Revoking again changes nothing and writes no second row.
    assert lisi.delete(f"{detail}/agents/{grant['id']}").status_code == 200
    assert _count("identity.agent_revoke") == 1


def test_every_grant_and_revoke_row_names_actor_and_enterprise(demo_city):
    from onewindow.audit.models import AuditEntry

    lisi = Api("lisi")
    base = f"/api/v1/enterprises/{_uscc()}/agents"
    expires = (timezone.now() + dt.timedelta(days=1)).isoformat()
    created = lisi.post(base, {"agent": "zhangsan", "services": ["*"], "expires_at": expires})
    assert created.status_code == 201
    assert lisi.delete(f"{base}/{_json(created)['id']}").status_code == 200
    rows = AuditEntry.objects.filter(action__in=["identity.agent_grant", "identity.agent_revoke"])
    assert rows.count() == 3  # the demo seed's grant, ours, our revoke
    for row in rows:
        assert row.actor == "lisi"
        assert row.detail["on_behalf_of"] == _uscc()


def test_grant_by_id_number(demo_city):
    zhangsan = demo_account("zhangsan")
    expires = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = Api("lisi").post(
        f"/api/v1/enterprises/{_uscc()}/agents",
        {"agent": zhangsan["id_number"], "services": ["*"], "expires_at": expires},
    )
    assert response.status_code == 201
    assert _json(response)["agent"] == "zhangsan"


def test_grant_validation(demo_city):
    lisi = Api("lisi")
    base = f"/api/v1/enterprises/{_uscc()}/agents"
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    cases = [
        ({"agent": "zhangsan", "services": ["*"], "expires_at": past}, "expires_at"),
        ({"agent": "lisi", "services": ["*"], "expires_at": future}, "agent"),
        ({"agent": "nobody-here", "services": ["*"], "expires_at": future}, "agent"),
        ({"agent": "clerk", "services": ["*"], "expires_at": future}, "agent"),
        ({"agent": "zhangsan", "services": [" "], "expires_at": future}, "services"),
    ]
    for body, field in cases:
        response = lisi.post(base, body)
        _assert_error(response, 422, "VALIDATION_FAILED")
        assert field in {d["field"] for d in _json(response)["details"]}, (body, response.content)
    from onewindow.identity.models import AgentGrant

    assert AgentGrant.objects.count() == 1


def test_expired_grant_is_refused(demo_city):
    from onewindow.identity.models import AgentGrant

    wangwu = Api("wangwu")
    path = f"/api/v1/enterprises/{_uscc()}"
    assert wangwu.get(path).status_code == 200
    AgentGrant.objects.filter(agent__username="wangwu").update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    _assert_error(wangwu.get(path), 403, "PERMISSION_DENIED")
    _assert_error(
        wangwu.post(f"{path}/act", {"service_code": "enterprise_change"}), 403, "PERMISSION_DENIED"
    )
    me = _json(wangwu.get("/api/v1/me"))
    # Only the enterprise he represents himself is left (the data hub's problem enterprise).
    assert [e["relation"] for e in me["enterprises"]] == ["legal_representative"]
    assert _uscc() not in [e["uscc"] for e in me["enterprises"]]
    listing = _json(Api("lisi").get(f"{path}/agents"))
    assert [(g["agent"], g["active"]) for g in listing] == [("wangwu", False)]


# --- the enterprise switcher ----------------------------------------------------------------


def _banner(page: str) -> str | None:
    match = re.search(r'<p class="ow-banner">(.*?)</p>', page, re.S)
    return match.group(1) if match else None


def test_agent_switches_to_acting_for_the_enterprise(client, demo_city):
    from onewindow.demo import ENTERPRISE_NAME
    from onewindow.identity.access import ACTING_FOR_SESSION_KEY

    page_login(client, "wangwu", demo_account("wangwu")["password"])
    page = client.get("/accounts/enterprises/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{_uscc()}"' in html
    assert ENTERPRISE_NAME in html
    assert _banner(html) is None

    response = client.post("/accounts/enterprises/", {"uscc": _uscc().lower()})
    assert response.status_code == 302
    assert client.session[ACTING_FOR_SESSION_KEY] == _uscc()
    banner = _banner(client.get("/").content.decode())
    assert banner is not None
    assert ENTERPRISE_NAME in banner

    entry = _last("identity.act_for")
    assert entry.actor == "wangwu"
    assert entry.detail["on_behalf_of"] == _uscc()

    # Back to acting for oneself.
    assert client.post("/accounts/enterprises/", {"uscc": ""}).status_code == 302
    assert ACTING_FOR_SESSION_KEY not in client.session
    assert _banner(client.get("/").content.decode()) is None


def test_acting_for_ends_when_the_grant_is_revoked(client, demo_city):
    from onewindow.demo import ENTERPRISE_NAME
    from onewindow.identity.models import AgentGrant

    page_login(client, "wangwu", demo_account("wangwu")["password"])
    client.post("/accounts/enterprises/", {"uscc": _uscc()})
    assert ENTERPRISE_NAME in (_banner(client.get("/").content.decode()) or "")
    AgentGrant.objects.filter(agent__username="wangwu").update(revoked_at=timezone.now())
    assert _banner(client.get("/").content.decode()) is None


def test_stranger_cannot_switch_to_the_enterprise(client, demo_city):
    from onewindow.identity.access import ACTING_FOR_SESSION_KEY

    page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    page = client.get("/accounts/enterprises/")
    assert page.status_code == 200
    assert _uscc() not in page.content.decode()
    response = client.post("/accounts/enterprises/", {"uscc": _uscc()})
    assert response.status_code == 403
    assert ACTING_FOR_SESSION_KEY not in client.session
    assert _banner(client.get("/").content.decode()) is None
    denied = _last("access.denied")
    assert denied.actor == "zhangsan"
    assert denied.object_repr == "POST /accounts/enterprises/"


def test_switcher_is_for_citizens(client, demo_city):
    assert client.get("/accounts/enterprises/").status_code == 302  # to the login page
    page_login(client, "clerk", demo_account("clerk")["password"])
    assert client.post("/accounts/enterprises/", {"uscc": _uscc()}).status_code == 403


def test_chinese_purpose_is_recorded_as_written(client, demo_city):
    """X-Purpose may be percent-encoded UTF-8 (or raw UTF-8); the audit keeps the text."""
    from urllib.parse import quote

    from tests.conftest import api_login

    from onewindow.audit.models import AuditEntry

    token = api_login(client, "clerk", demo_account("clerk")["password"]).json()["access_token"]
    response = client.get(
        "/api/v1/users/lisi",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_PURPOSE=quote("窗口帮办：核对申请人身份"),
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action="personal_data.read").latest("seq")
    assert entry.detail["purpose"] == "窗口帮办：核对申请人身份"
