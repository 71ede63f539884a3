from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from onewindow.org import services
from onewindow.org.models import Region

pytestmark = pytest.mark.django_db


def test_region_level_and_parent_follow_the_code():
    services.region_upsert(code="110000", name="北京市")
    services.region_upsert(code="110100", name="市辖区")
    district = services.region_upsert(code="110105", name="朝阳区")
    assert district.level == "county"
    assert district.parent_id == "110100"
    assert Region.objects.get(pk="110100").parent_id == "110000"


def test_region_with_unknown_province_is_rejected_unless_fictional():
    with pytest.raises(ValidationError) as exc:
        services.region_upsert(code="990000", name="示范省")
    assert "code" in exc.value.message_dict
    assert services.region_upsert(code="990000", name="示范省", is_fictional=True).is_fictional


def test_region_parent_must_match_the_code():
    services.region_upsert(code="110000", name="北京市")
    services.region_upsert(code="120000", name="天津市")
    region = Region(code="110100", name="市辖区", level="city", parent_id="120000")
    with pytest.raises(ValidationError) as exc:
        region.full_clean()
    assert "parent" in exc.value.message_dict


def test_department_uscc_is_validated_with_the_rule_named(demo_city):
    city = Region.objects.get(pk="990100")
    with pytest.raises(ValidationError) as exc:
        services.department_upsert(
            code="x", name="测试局", short_name="测试", uscc="91110000600037341M", region=city
        )
    assert "最后一位校验码不正确" in str(exc.value.message_dict["uscc"])


def test_department_upsert_is_idempotent_and_normalises_uscc(demo_city):
    city = Region.objects.get(pk="990100")
    first = services.department_upsert(
        code="audit_office",
        name="示范市审计局",
        short_name="审计",
        uscc="91110000600037341l",
        region=city,
    )
    again = services.department_upsert(
        code="audit_office",
        name="示范市审计局",
        short_name="审计",
        uscc="91110000600037341L",
        region=city,
    )
    assert first.pk == again.pk
    assert again.uscc == "91110000600037341L"


def test_window_numbers_are_unique_per_hall(demo_city):
    from onewindow.org.models import ServiceHall, Window

    window = Window(hall=ServiceHall.objects.get(), number="A01", name="重复", kind="comprehensive")
    with pytest.raises(ValidationError):
        window.full_clean()


def test_department_parent_cycles_are_refused(demo_city):
    from onewindow.org.models import Department

    a = Department.objects.get(code="market")
    b = Department.objects.get(code="tax")
    b.parent = a
    b.save()
    a.parent = b
    with pytest.raises(ValidationError) as exc:
        a.full_clean()
    assert "parent" in exc.value.message_dict
