"""Every API error, framework ones included, answers with the one envelope."""

from __future__ import annotations

import json

import pytest

from onewindow.kit.errors import ERROR_CODES

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"code", "message", "details", "request_id"}
    assert body["code"] == code
    assert body["message"] == str(ERROR_CODES[code].message)
    assert body["request_id"] == response["X-Request-ID"]
    assert len(body["request_id"]) >= 8
    return body


def test_unknown_route_under_the_api(client):
    body = assert_envelope(client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")
    assert body["message"] == "请求的资源不存在。"  # Chinese by default


def test_unknown_route_outside_v1(client):
    assert_envelope(client.get("/api/v9/departments"), 404, "NOT_FOUND")


def test_wrong_method(client):
    response = client.delete("/api/v1/validate/uscc/91110000600037341L")
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]


def test_malformed_json(client):
    response = client.post("/api/v1/validate", data="{not json", content_type="application/json")
    assert_envelope(response, 400, "MALFORMED_JSON")


def test_validation_error_lists_each_field_with_a_chinese_message(client):
    response = client.post(
        "/api/v1/validate", data={"items": [{"kind": "passport"}]}, content_type="application/json"
    )
    body = assert_envelope(response, 422, "VALIDATION_FAILED")
    by_field = {d["field"]: d for d in body["details"]}
    assert by_field["items.0.kind"]["code"] == "literal_error"
    assert by_field["items.0.kind"]["message"] == "请从允许的选项中选择。"
    assert by_field["items.0.value"]["code"] == "missing"
    assert by_field["items.0.value"]["message"] == "此项为必填项。"


def test_unhandled_exception_is_a_500_envelope_without_internals(client, monkeypatch):
    from onewindow.org import selectors

    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(selectors, "department_list", explode)
    response = client.get("/api/v1/departments")
    body = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "secret" not in response.content.decode()
    assert body["details"] == []


def test_error_from_a_plain_django_view_under_api_is_enveloped(client, settings):
    # The 404 handler itself answers with the envelope for any /api/ path.
    assert_envelope(client.post("/api/", data="x", content_type="text/plain"), 404, "NOT_FOUND")


def test_english_on_request(client):
    response = client.get("/api/v1/no-such-thing", HTTP_ACCEPT_LANGUAGE="en")
    assert json.loads(response.content)["message"] == "The requested resource does not exist."


def test_incoming_request_id_is_kept_when_well_formed_and_replaced_otherwise(client):
    kept = client.get("/api/v1/nope", HTTP_X_REQUEST_ID="trace-1234abcd")
    assert kept["X-Request-ID"] == "trace-1234abcd"
    replaced = client.get("/api/v1/nope", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert replaced["X-Request-ID"] != "bad id\nwith newline"
    assert json.loads(replaced.content)["request_id"] == replaced["X-Request-ID"]


def test_openapi_spec_and_docs_are_served_without_a_cdn(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    paths = json.loads(spec.content)["paths"]
    assert "/api/v1/validate/id-number/{value}" in paths
    assert "/api/v1/departments" in paths
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower()
    assert "https://" not in html.split("<body")[0]


def test_request_log_masks_id_numbers_in_the_path(client, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="onewindow.request"):
        client.get("/api/v1/validate/id-number/11010519491231002X")
    paths = [r.path for r in caplog.records if r.message == "request"]
    assert paths == ["/api/v1/validate/id-number/110***********002X"]


def test_api_responses_vary_on_language(client):
    vary = client.get("/api/v1/departments")["Vary"]
    assert "Accept-Language" in vary
    assert "Cookie" in vary


def test_forwarded_for_is_ignored_from_an_untrusted_peer(client):
    from onewindow.audit.models import AuditEntry

    client.post(
        "/accounts/login/",
        {"login": "nobody", "password": "Wrong-pass-1"},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert AuditEntry.objects.latest("seq").ip == "10.9.9.9"
