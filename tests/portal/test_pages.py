"""Base layout: Chinese by default, skip link, display modes that persist, no JS, no CDN."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_home_page_in_simplified_chinese(client, demo_city):
    page = html(client.get("/"))
    assert '<html lang="zh-Hans"' in page
    assert "跳到主要内容" in page
    assert 'href="#main"' in page
    assert 'id="main"' in page
    assert "示范市政务服务中心" in page
    assert "示范市市场监督管理局" in page


def test_browser_language_does_not_switch_pages_to_english(client, demo_city):
    page = html(client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert "跳到主要内容" in page


def test_english_is_available_by_choice(client, demo_city):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/departments/"})
    assert response.status_code == 302
    page = html(client.get("/departments/"))
    assert '<html lang="en"' in page
    assert "Skip to main content" in page


def test_no_external_assets_and_no_script_needed(client, demo_city):
    page = html(client.get("/"))
    assert "<script" not in page
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not url.startswith(("http://", "https://", "//")), url


MODES = [("large_text", "ow-large-text"), ("high_contrast", "ow-high-contrast")]


@pytest.mark.parametrize(("setting", "css_class"), MODES)
def test_display_modes_persist_across_pages_and_toggle_off(client, demo_city, setting, css_class):
    response = client.post("/preferences/display", {"setting": setting, "next": "/departments/"})
    assert response.status_code == 302
    assert response["Location"] == "/departments/"
    for path in ("/", "/departments/"):
        page = html(client.get(path))
        assert re.search(rf'<html[^>]*class="[^"]*{css_class}', page), path
        assert 'aria-pressed="true"' in page
    client.post("/preferences/display", {"setting": setting, "next": "/"})
    assert css_class not in html(client.get("/")).split("<head>")[0]


def test_both_modes_together(client, demo_city):
    client.post("/preferences/display", {"setting": "large_text"})
    client.post("/preferences/display", {"setting": "high_contrast"})
    head = html(client.get("/")).split("<head>")[0]
    assert "ow-large-text" in head
    assert "ow-high-contrast" in head


def test_preferences_refuse_to_redirect_off_site(client):
    response = client.post(
        "/preferences/display", {"setting": "large_text", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_preferences_need_post_and_csrf():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.get("/preferences/display").status_code == 405
    response = strict.post("/preferences/display", {"setting": "large_text"})
    assert response.status_code == 403
    assert "请重试" in response.content.decode()
    from onewindow.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="access.denied", detail__reason__startswith="CSRF")


def test_page_404_is_a_chinese_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page
    assert response["X-Request-ID"] in page


def test_stylesheet_is_served(client):
    response = client.get("/static/portal/site.css")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "ow-high-contrast" in body
    assert "@media (max-width" in body  # mobile layout
    assert ":focus" in body  # visible focus
