from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).with_name("sample_catalog.yaml")


@pytest.fixture
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture
def org(demo_city):
    """The demo city's organisation and people, without its catalog."""
    return demo_city


@pytest.fixture
def sample_catalog(org, sample_text):
    from onewindow.catalog import services

    services.catalog_import(services.catalog_load_yaml(sample_text))
    return sample_text
