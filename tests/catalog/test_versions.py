"""Versions: draft -> published -> retired; published ones are immutable."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from onewindow.catalog import services
from onewindow.catalog.models import (
    ImmutableVersionError,
    Material,
    ServiceVersion,
    VersionStatus,
)


def published(key: str) -> ServiceVersion:
    return ServiceVersion.objects.get(item__key=key, status=VersionStatus.PUBLISHED)


def test_a_published_version_cannot_be_edited_or_deleted(sample_catalog):
    version = published("business_license")
    version.hours = "全天"
    with pytest.raises(ImmutableVersionError):
        version.save()
    with pytest.raises(ImmutableVersionError):
        version.delete()
    material = version.materials.first()
    material.name = "改名"
    with pytest.raises(ImmutableVersionError):
        material.save()
    with pytest.raises(ImmutableVersionError):
        Material(
            version=version,
            key="extra",
            name="新增",
            necessity="optional",
            form="electronic",
            source="applicant",
        ).save()


def test_edit_by_draft_then_publish(sample_catalog):
    old = published("business_license")
    draft = services.version_draft_from(version=old)
    assert draft.status == VersionStatus.DRAFT
    assert draft.number == old.number + 1
    draft.hours = "周一至周六 9:00-17:00"
    draft.save()
    services.version_publish(version=draft, actor="market_catalog")
    old.refresh_from_db()
    assert old.status == VersionStatus.RETIRED
    assert old.hours != "周一至周六 9:00-17:00"
    assert published("business_license").hours == "周一至周六 9:00-17:00"


def test_only_one_published_version_per_item(sample_catalog):
    draft = services.version_draft_from(version=published("business_license"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceVersion.objects.filter(pk=draft.pk).update(status=VersionStatus.PUBLISHED)


def test_a_draft_with_a_broken_form_cannot_be_published(sample_catalog):
    from django.core.exceptions import ValidationError

    draft = services.version_draft_from(version=published("business_license"))
    draft.form_schema = {
        "fields": [{"key": "x", "type": "text", "label": "X", "show_if": "y == 1"}]
    }
    draft.save()
    with pytest.raises(ValidationError, match="不存在的字段"):
        services.version_publish(version=draft)
    assert published("business_license").number == 1


def test_retiring_takes_the_item_out_of_the_catalog(sample_catalog, client):
    services.version_retire(version=published("social_security_card"))
    assert client.get("/api/v1/services/social_security_card").status_code == 404
    assert client.get("/api/v1/services", {"q": "社保"}).json()["total"] == 0
