from __future__ import annotations

import pytest

from onewindow.events import registry


@pytest.fixture
def isolated_consumers(monkeypatch):
    """An empty registry for the test (the apps' own consumers, like notify's, return after)."""
    monkeypatch.setattr(registry, "_CONSUMERS", {})
    return registry
