from __future__ import annotations

import json

import pytest

from onewindow import health

pytestmark = pytest.mark.django_db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_readyz_checks_database_and_migrations(client, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content)["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_is_503_while_migrations_are_pending(client, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(health, "pending_migrations", lambda: ["org.0002_future"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["pending"] == ["org.0002_future"]


def test_real_pending_migrations_are_detected():
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    assert health.pending_migrations() == []
    # Forget one applied migration (inside the test's transaction): it is pending again.
    MigrationRecorder(connection).migration_qs.filter(app="org", name="0001_initial").delete()
    assert "org.0001_initial" in health.pending_migrations()
