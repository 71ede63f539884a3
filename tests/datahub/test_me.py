"""Who accessed my data, and my consents: GET /api/v1/me/access-log, /me/consents, the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import api_login
from tests.datahub.conftest import person_id

from onewindow.datahub.models import Consent

pytestmark = pytest.mark.django_db


def token_headers(client, username: str) -> dict[str, str]:
    from onewindow import demo

    token = api_login(client, username, demo.CITIZEN_PASSWORD).json()["access_token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_citizen_sees_every_read_of_their_data(client, machine, agreement):
    agreement("population", "market", ["name"])
    zhangsan = person_id("zhangsan")
    market = machine("market")
    tax = machine("tax", client_id="tax-system")
    assert (
        client.get(
            f"/api/v1/datahub/population/{zhangsan}", {"fields": "name"}, **market
        ).status_code
        == 200
    )
    tax_purpose = {**tax, "HTTP_X_PURPOSE": "%E7%BA%B3%E7%A8%8E%E4%BA%BA%E6%A0%B8%E9%AA%8C"}
    assert (
        client.get(
            f"/api/v1/datahub/population/{zhangsan}", {"fields": "name"}, **tax_purpose
        ).status_code
        == 403
    )
    # A read about someone else is not in zhangsan's log.
    client.get(f"/api/v1/datahub/population/{person_id('lisi')}", {"fields": "name"}, **market)

    response = client.get("/api/v1/me/access-log", **token_headers(client, "zhangsan"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 2
    rows = [(r["department_name"], r["purpose"], r["outcome"]) for r in body["items"]]
    assert rows == [
        ("国家税务总局示范市税务局", "纳税人核验", "refused"),
        ("示范市市场监督管理局", "企业开办联办核验", "allowed"),
    ]
    assert all(r["case_number"] == "SFS-2026-000123" for r in body["items"])
    assert all(r["dataset_name"] == "人口基础信息" for r in body["items"])
    newest, oldest = (dt.datetime.fromisoformat(r["occurred_at"]) for r in body["items"])
    assert newest >= oldest

    wangwu = client.get("/api/v1/me/access-log", **token_headers(client, "wangwu")).json()
    assert wangwu["total"] == 0


def test_machine_clients_cannot_read_a_citizens_log(client, machine):
    response = client.get("/api/v1/me/access-log", **machine("market"))
    assert response.status_code in (401, 403)


def test_consents_api_grant_list_revoke(client, hub):
    from onewindow.identity.access import ACTING_FOR_SESSION_KEY
    from onewindow.identity.models import User

    demo = hub._demo()
    client.force_login(User.objects.get(username="lisi"))
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = demo.ENTERPRISE_USCC
    session.save()

    created = client.post(
        "/api/v1/me/consents",
        {
            "dataset": "social_insurance",
            "department": "market",
            "purpose": "企业变更登记核验",
            "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    consent_id = created.json()["id"]
    assert created.json()["active"] is True

    listed = client.get("/api/v1/me/consents").json()
    assert [(c["id"], c["department_code"], c["active"]) for c in listed] == [
        (consent_id, "market", True)
    ]
    revoked = client.post(f"/api/v1/me/consents/{consent_id}/revoke")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["active"] is False
    assert Consent.objects.get(pk=consent_id).revoked_at is not None

    # Not acting for the enterprise any more: its consents are not lisi's own.
    session = client.session
    del session[ACTING_FOR_SESSION_KEY]
    session.save()
    assert client.get("/api/v1/me/consents").json() == []
    assert client.post(f"/api/v1/me/consents/{consent_id}/revoke").status_code == 404


def test_pages_show_the_log_and_revoke_a_consent(client, machine, agreement, hub):
    from onewindow.identity.access import ACTING_FOR_SESSION_KEY
    from onewindow.identity.models import User

    demo = hub._demo()
    agreement("tax_arrears", "market", ["in_arrears"])
    assert client.get("/me/data/access-log/").status_code == 302  # anonymous: to the login

    client.force_login(User.objects.get(username="lisi"))
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = demo.ENTERPRISE_USCC
    session.save()

    page = client.get("/me/data/consents/")
    assert page.status_code == 200
    assert "示范市市场监督管理局" in page.content.decode()  # offered: it holds an agreement
    granted = client.post(
        "/me/data/consents/",
        {
            "dataset": "tax_arrears",
            "department": "market",
            "purpose": "经营许可审查",
            "expires_on": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
        },
    )
    assert granted.status_code == 302
    consent = Consent.objects.get()
    headers = machine("market")
    ok = client.get(
        f"/api/v1/datahub/tax_arrears/{demo.ENTERPRISE_USCC}", {"fields": "in_arrears"}, **headers
    )
    assert ok.status_code == 200, ok.content

    assert client.post(f"/me/data/consents/{consent.pk}/revoke").status_code == 302
    blocked = client.get(
        f"/api/v1/datahub/tax_arrears/{demo.ENTERPRISE_USCC}", {"fields": "in_arrears"}, **headers
    )
    assert blocked.json()["code"] == "DATA_CONSENT_REQUIRED"

    log = client.get("/me/data/access-log/").content.decode()
    assert log.count("示范市市场监督管理局") == 2
    assert "企业开办联办核验" in log

    bad = client.post(
        "/me/data/consents/",
        {"dataset": "tax_arrears", "department": "market", "purpose": "", "expires_on": ""},
    )
    assert bad.status_code == 422
    assert 'href="#consent-purpose"' in bad.content.decode()
