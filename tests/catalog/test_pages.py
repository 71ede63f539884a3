"""Catalog pages work without JavaScript: a GET form, links, and a printable guide."""

from __future__ import annotations


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_home_has_search_life_events_and_popular_services(client, sample_catalog):
    html = page(client, "/")
    assert 'role="search"' in html
    assert 'action="/services/"' in html
    assert "出生" in html
    assert "开办" in html
    assert "企业设立登记（营业执照）" in html  # high-frequency
    assert "<script" not in html


def test_search_results_page(client, sample_catalog):
    html = page(client, "/services/", q="开公司")
    assert "企业设立登记（营业执照）" in html
    assert "找到 1 项服务" in html or "1" in html.split("找到")[1][:5]
    assert 'href="/services/business_license/"' in html


def test_browse_by_department_audience_and_event(client, sample_catalog):
    assert "社保卡申领" in page(client, "/services/", department="hrss")
    assert "社保卡申领" not in page(client, "/services/", audience="legal_person")
    html = page(client, "/services/", event="birth")
    assert "<h1>出生</h1>" in html
    assert "城乡居民基本医疗保险参保登记" in html


def test_guide_page_has_everything_and_prints_cleanly(client, sample_catalog):
    html = page(client, "/services/business_license/")
    for text in (
        "受理",
        "公司章程",
        "住所使用证明",
        "15",
        "0999-12315",
        "《中华人民共和国市场主体登记管理条例》",
        "营业执照",
    ):
        assert text in html, text
    assert "免提交" in html  # the ID card comes from the e-license
    css = b"".join(client.get("/static/portal/site.css").streaming_content).decode()
    assert "@media print" in css


def test_unknown_guide_is_a_404_page(client, sample_catalog):
    response = client.get("/services/nope/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()
