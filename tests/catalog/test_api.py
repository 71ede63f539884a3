from __future__ import annotations

from onewindow.catalog.models import ServiceItem


def test_search_api(client, sample_catalog):
    body = client.get("/api/v1/services", {"q": "社保"}).json()
    assert body["total"] == 1
    assert body["items"][0]["key"] == "social_security_card"
    assert body["items"][0]["department"] == "hrss"
    browse = client.get("/api/v1/services", {"audience": "natural_person"}).json()
    assert browse["total"] == 2


def test_detail_by_key_or_implementation_code(client, sample_catalog):
    by_key = client.get("/api/v1/services/business_license").json()
    code = ServiceItem.objects.get(key="business_license").implementation_code
    by_code = client.get(f"/api/v1/services/{code}").json()
    assert by_key == by_code
    assert by_key["version"] == 1
    assert by_key["legal_limit_days"] == 15
    assert [m["key"] for m in by_key["materials"]] == ["articles", "lease", "id_card"]
    assert by_key["materials"][2]["source"] == "license"
    assert by_key["form"]["fields"][0]["dictionary_key"] == "enterprise.name"


def test_unknown_service_and_bad_page(client, sample_catalog):
    missing = client.get("/api/v1/services/nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    assert client.get("/api/v1/services", {"page": 0}).status_code == 422


def test_a_results_page_reads_the_versions_once_without_their_guide_text(client, sample_catalog):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url, params in (
        ("/api/v1/services", {"audience": "natural_person"}),
        ("/api/v1/services", {"q": "社保 营业执照"}),
        ("/services/", {"audience": "natural_person"}),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params).status_code == 200
        versions = [q["sql"] for q in queries if "catalog_serviceversion" in q["sql"]]
        assert len(versions) == 1, versions  # no deferred field read back item by item
        assert "form_schema" not in versions[0]
        assert "acceptance_conditions" not in versions[0]
