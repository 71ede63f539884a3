"""GET /api/v1/validate/... for other departments' systems, and the batch form."""

from __future__ import annotations

import json

import pytest

from onewindow.kit.validators import id_number_check_char

pytestmark = pytest.mark.django_db


def get(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return json.loads(response.content)


def test_valid_id_number(client):
    assert get(client, "/api/v1/validate/id-number/11010519491231002X") == {
        "valid": True,
        "rule": None,
        "reason": "",
    }


@pytest.mark.parametrize(
    ("value", "rule", "reason"),
    [
        ("123", "length", "公民身份号码应为 18 位。"),
        ("11010519491231002A", "charset", "公民身份号码应为 17 位数字加 1 位数字或 X。"),
        ("11010519490230002X", "birth_date", "第 7-14 位不是有效的出生日期。"),
        ("110105194912310021", "check_digit", "最后一位校验码不正确。"),
    ],
)
def test_invalid_id_numbers_name_the_rule_in_chinese(client, value, rule, reason):
    body = get(client, f"/api/v1/validate/id-number/{value}")
    assert body == {"valid": False, "rule": rule, "reason": reason}


def test_area_code_rule(client):
    first17 = "98010519491231002"
    body = get(client, f"/api/v1/validate/id-number/{first17}{id_number_check_char(first17)}")
    assert body["rule"] == "area_code"


def test_demo_province_ids_validate_once_the_platform_serves_it(client, demo_city):
    first17 = "99010219900307002"
    body = get(client, f"/api/v1/validate/id-number/{first17}{id_number_check_char(first17)}")
    assert body["valid"] is True


def test_uscc(client):
    assert get(client, "/api/v1/validate/uscc/91110000600037341L")["valid"] is True
    body = get(client, "/api/v1/validate/uscc/91110000600037341M")
    assert body == {"valid": False, "rule": "check_digit", "reason": "最后一位校验码不正确。"}
    assert get(client, "/api/v1/validate/uscc/91110000600037341")["rule"] == "length"


def test_reason_in_english_on_request(client):
    response = client.get("/api/v1/validate/uscc/91110000600037341M", HTTP_ACCEPT_LANGUAGE="en")
    assert json.loads(response.content)["reason"] == (
        "The last character (check digit) does not match."
    )


def test_batch(client):
    response = client.post(
        "/api/v1/validate",
        data={
            "items": [
                {"kind": "id_number", "value": "11010519491231002X"},
                {"kind": "uscc", "value": "91110000600037341M"},
                {"kind": "area_code", "value": "110105"},
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    results = json.loads(response.content)["results"]
    assert [r["valid"] for r in results] == [True, False, True]
    assert results[1]["rule"] == "check_digit"


def test_batch_limits(client):
    too_many = {"items": [{"kind": "uscc", "value": "x"}] * 1001}
    response = client.post("/api/v1/validate", data=too_many, content_type="application/json")
    assert response.status_code == 422
    assert json.loads(response.content)["details"][0]["field"] == "items"
    empty = client.post("/api/v1/validate", data={"items": []}, content_type="application/json")
    assert empty.status_code == 422
