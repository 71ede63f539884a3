"""The demo city: seeded idempotently, complete enough to use, every code valid."""

from __future__ import annotations

import json

import pytest

from onewindow import cli, demo
from onewindow.identity.models import User
from onewindow.kit.validators import validate_uscc
from onewindow.org.models import Department, Region, ServiceHall, Window

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Region.objects.count(),
        Department.objects.count(),
        ServiceHall.objects.count(),
        Window.objects.count(),
        User.objects.count(),
    )


def test_seed_is_idempotent():
    demo.seed()
    first = counts()
    demo.seed()
    assert counts() == first
    assert first == (5, 14, 1, 8, len(demo.ACCOUNTS))


def test_city_has_three_districts_and_the_required_departments():
    demo.seed()
    assert Region.objects.filter(parent_id="990100").count() == 3
    assert all(r.is_fictional for r in Region.objects.all())
    short_names = set(Department.objects.values_list("short_name", flat=True))
    assert {
        "市场监管",
        "税务",
        "人社",
        "医保",
        "公安",
        "民政",
        "卫健",
        "住建",
        "自然资源",
        "交通",
        "教育",
        "政务办",
        "海关",  # the data hub's demo adds customs (open customs procedures)
    } <= short_names


def test_every_department_uscc_passes_gb32100_with_the_fictional_province():
    demo.seed()
    for dept in Department.objects.all():
        assert validate_uscc(dept.uscc, extra_provinces={"99"}).valid, dept
        assert not validate_uscc(dept.uscc).valid  # 99 is unassigned nationally


def test_reset_restores_edited_rows():
    demo.seed()
    Department.objects.filter(code="tax").update(name="被改动的名称")
    demo.reset()
    assert Department.objects.get(code="tax").name == "国家税务总局示范市税务局"


def test_demo_accounts_log_in(client, capsys):
    from tests.conftest import api_login, totp_now

    assert cli.main(["demo"]) == 0
    assert cli.main(["demo", "accounts", "--json"]) == 0
    out = capsys.readouterr().out
    accounts = json.loads(out[out.index("[") :])
    roles = {a["role"] for a in accounts}
    assert roles >= {
        "system_admin",
        "security_admin",
        "auditor",
        "window_clerk",
        "reviewer",
        "approver",
        "department_head",
        "data_steward",
        "citizen",
    }
    relations = {a["enterprise"]["relation"] for a in accounts if "enterprise" in a}
    assert relations == {"legal_representative", "agent"}
    for account in accounts:
        otp = totp_now(account["totp_secret"]) if account["totp_secret"] else None
        response = api_login(client, account["username"], account["password"], otp)
        assert response.status_code == 200, (account["username"], response.content)
        if account["department"]:
            assert Department.objects.filter(code=account["department"]).exists()
