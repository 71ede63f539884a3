from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_departments_list_and_detail(client, demo_city):
    departments = json.loads(client.get("/api/v1/departments").content)
    codes = {d["code"] for d in departments}
    assert {
        "market",
        "tax",
        "hrss",
        "medical_insurance",
        "public_security",
        "civil_affairs",
        "health",
        "housing",
        "natural_resources",
        "transport",
        "education",
        "gov_services",
    } <= codes
    detail = json.loads(client.get("/api/v1/departments/market").content)
    assert detail["name"] == "示范市市场监督管理局"
    assert detail["region_code"] == "990100"


def test_regions_filtered_by_parent(client, demo_city):
    districts = json.loads(client.get("/api/v1/regions", {"parent": "990100"}).content)
    assert [r["name"] for r in districts] == ["中心区", "滨江区", "高新区"]
    assert all(r["is_fictional"] and r["level"] == "county" for r in districts)


def test_halls_with_windows(client, demo_city):
    halls = json.loads(client.get("/api/v1/halls").content)
    assert halls[0]["name"] == "示范市政务服务中心"
    windows = {w["number"]: w for w in halls[0]["windows"]}
    assert windows["B02"]["department_codes"] == ["public_security"]
    assert windows["C01"]["kind"] == "assisted"
