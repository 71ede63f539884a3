"""Operator-facing identity features: first admins, deploy checks, disclosure and agent audit."""

from __future__ import annotations

import re

import pytest
from django.core.checks import run_checks
from django.test import Client
from tests.conftest import api_login, demo_account, page_login, totp_now

from onewindow import cli, demo
from onewindow.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_admins_create_prints_credentials_that_work_once(capsys, demo_city):
    assert (
        cli.main(
            [
                "admins",
                "create",
                "sec2",
                "--role",
                "security_admin",
                "--department",
                "gov_services",
                "--name",
                "安全管理员 乙",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    password = re.search(r"password:\s+(\S+)", out).group(1)
    secret = re.search(r"TOTP secret:\s+(\S+)", out).group(1)
    client = Client()
    assert api_login(client, "sec2", password).json()["code"] == "MFA_REQUIRED"
    assert api_login(client, "sec2", password, totp_now(secret)).status_code == 200
    # A second admin role for the same person, or a non-admin role, is refused.
    assert (
        cli.main(["admins", "create", "sec2", "--role", "auditor", "--department", "gov_services"])
        == 2
    )
    assert cli.main(["admins", "create", "x", "--role", "auditor", "--department", "nope"]) == 2


def test_deploy_checks_warn_about_demo_leftovers(demo_city):
    ids = {m.id for m in run_checks(include_deployment_checks=True, databases=["default"])}
    assert "onewindow.W001" in ids  # the demo SMS gateway
    assert "onewindow.W002" in ids  # demo accounts with public passwords


def test_deploy_checks_quiet_without_demo_data(db, settings):
    settings.SMS_GATEWAY = "tests.gateways.CityGateway"
    ids = {m.id for m in run_checks(include_deployment_checks=True, databases=["default"])}
    assert not ids & {"onewindow.W001", "onewindow.W002"}


def test_every_act_of_an_agent_names_the_enterprise(client, demo_city):
    wangwu = demo_account("wangwu")
    page_login(client, "wangwu", wangwu["password"])
    client.post("/accounts/enterprises/", {"uscc": demo.ENTERPRISE_USCC})
    # Any later audited act in that session carries the enterprise, without the caller
    # having to pass it: here, logging out.
    client.post("/accounts/logout/")
    logout = AuditEntry.objects.filter(action="auth.logout", actor="wangwu").latest("seq")
    assert logout.detail["on_behalf_of"] == demo.ENTERPRISE_USCC


def test_only_casework_staff_read_someone_elses_profile(client, demo_city):
    steward = api_login(client, "steward", demo_account("steward")["password"]).json()
    response = client.get(
        "/api/v1/users/zhangsan",
        HTTP_AUTHORIZATION=f"Bearer {steward['access_token']}",
        HTTP_X_PURPOSE="curiosity",
    )
    assert response.status_code == 403
    clerk = api_login(client, "clerk", demo_account("clerk")["password"]).json()
    response = client.get(
        "/api/v1/users/zhangsan",
        HTTP_AUTHORIZATION=f"Bearer {clerk['access_token']}",
        HTTP_X_PURPOSE="walk-in application",
    )
    assert response.status_code == 200
