"""Catalog editing in the console: system admins edit all; a department edits its own only."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.conftest import demo_account, page_login

from onewindow.catalog.models import ServiceItem, ServiceVersion, VersionStatus


def console(username: str) -> Client:
    account = demo_account(username)
    client = Client()
    page_login(client, username, account["password"], totp_secret=account["totp_secret"])
    return client


@pytest.fixture
def editor(sample_catalog) -> Client:
    return console("market_catalog")


def test_a_catalog_editor_sees_only_their_departments_items(editor):
    listing = editor.get("/admin/catalog/serviceitem/").content.decode()
    assert "企业设立登记（营业执照）" in listing  # market
    assert "社保卡申领" not in listing  # hrss
    other = ServiceItem.objects.get(key="social_security_card")
    response = editor.get(f"/admin/catalog/serviceitem/{other.pk}/change/")
    assert response.status_code == 302  # "does not exist" for this editor: back to the index
    version = ServiceVersion.objects.get(item=other)
    assert editor.get(f"/admin/catalog/serviceversion/{version.pk}/change/").status_code == 302


def test_published_versions_are_read_only_in_the_console(editor):
    version = ServiceVersion.objects.get(item__key="business_license")
    page = editor.get(f"/admin/catalog/serviceversion/{version.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_draft_edit_publish_through_the_console(editor):
    version = ServiceVersion.objects.get(item__key="business_license")
    changelist = "/admin/catalog/serviceversion/"
    response = editor.post(changelist, {"action": "new_draft", "_selected_action": [version.pk]})
    assert response.status_code == 302
    draft = ServiceVersion.objects.get(item__key="business_license", status=VersionStatus.DRAFT)
    response = editor.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})
    assert response.status_code == 302
    draft.refresh_from_db()
    version.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
    assert version.status == VersionStatus.RETIRED


def test_system_admin_sees_every_department(sample_catalog):
    listing = console("sysadmin").get("/admin/catalog/serviceitem/").content.decode()
    assert "企业设立登记（营业执照）" in listing
    assert "社保卡申领" in listing


def test_other_staff_cannot_enter_the_console(sample_catalog):
    clerk = Client()
    page_login(clerk, "clerk", demo_account("clerk")["password"])
    assert clerk.get("/admin/catalog/serviceitem/").status_code in (302, 403)
