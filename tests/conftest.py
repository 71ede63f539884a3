from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (Redis-backed in the PostgreSQL run), and without
    the in-process caches of immutable rows (on SQLite a rolled-back test's ids come back)."""
    from onewindow.casework import services as casework
    from onewindow.datahub import selectors as datahub
    from onewindow.license import keys as license_keys
    from onewindow.workflow import services as workflow

    for cached in (
        casework._schema_for,
        casework._materials_for,
        casework._is_bundle,
        workflow._parsed,
    ):
        cached.cache_clear()
    license_keys.forget_platform_key()
    datahub.forget_config_here()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is slow by design; in-process tests hash with MD5 (subprocess tests keep Argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def demo_city(db, monkeypatch):
    """The demo city's organisation and people. Its 60-item catalog and the data hub's
    registries are left out (each takes a second); tests that need the catalog use
    ``demo_catalog``, the data hub's tests seed what they need."""
    from onewindow import demo

    monkeypatch.setattr(demo, "_seed_catalog", lambda: 0)
    monkeypatch.setattr(demo, "_seed_datahub", lambda: (0, 0))
    demo.seed()
    return demo


@pytest.fixture
def demo_catalog(demo_city):
    from onewindow import demo

    demo.CATALOG_FILE.read_text(encoding="utf-8")  # fail clearly if the file is missing
    from onewindow.catalog import services

    services.catalog_import(services.catalog_load_yaml(demo.CATALOG_FILE.read_text("utf-8")))
    return demo


def demo_account(username: str) -> dict:
    from onewindow import demo

    return next(a for a in demo.accounts() if a["username"] == username)


def totp_now(secret: str) -> str:
    """The current TOTP code. allauth accepts only the current 30-second window, so near the
    end of a window wait for the next one: the code must still be valid when it is checked."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def page_login(client: Client, login: str, password: str, *, totp_secret: str | None = None):
    """Log in through the portal's login page, answering the TOTP step when asked."""
    response = client.post("/accounts/login/", {"login": login, "password": password})
    if totp_secret and response.status_code == 302 and "2fa" in response["Location"]:
        response = client.post(response["Location"], {"code": totp_now(totp_secret)})
    return response


def api_login(client: Client, username: str, password: str, otp: str | None = None):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return client.post("/api/v1/auth/login", body, content_type="application/json")
