"""Writes to organisation tables (regions, departments, halls, windows)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from onewindow.kit import validators
from onewindow.org.models import PROVINCES_CACHE_KEY, Department, Region, ServiceHall, Window


@transaction.atomic
def region_upsert(*, code: str, name: str, is_fictional: bool = False) -> Region:
    """Create or update a region; level and parent follow from the GB/T 2260 code."""
    parent_code = validators.area_parent_code(code)
    parent = Region.objects.filter(pk=parent_code).first() if parent_code else None
    region = Region.objects.filter(pk=code).first() or Region(code=code)
    region.name = name
    region.level = validators.area_level(code)
    region.parent = parent
    region.is_fictional = is_fictional
    region.full_clean()
    region.save()
    transaction.on_commit(lambda: cache.delete(PROVINCES_CACHE_KEY))
    return region


@transaction.atomic
def department_upsert(
    *,
    code: str,
    name: str,
    short_name: str,
    uscc: str,
    region: Region,
    parent: Department | None = None,
    phone: str = "",
    address: str = "",
) -> Department:
    department = Department.objects.filter(code=code).first() or Department(code=code)
    department.name = name
    department.short_name = short_name
    department.uscc = uscc
    department.region = region
    department.parent = parent
    department.phone = phone
    department.address = address
    department.full_clean()
    department.save()
    return department


@transaction.atomic
def hall_upsert(
    *,
    name: str,
    region: Region,
    managed_by: Department,
    address: str,
    opening_hours: str,
    phone: str = "",
) -> ServiceHall:
    hall = ServiceHall.objects.filter(name=name).first() or ServiceHall(name=name)
    hall.region = region
    hall.managed_by = managed_by
    hall.address = address
    hall.opening_hours = opening_hours
    hall.phone = phone
    hall.full_clean()
    hall.save()
    return hall


@transaction.atomic
def window_upsert(
    *, hall: ServiceHall, number: str, name: str, kind: str, departments: Iterable[Department]
) -> Window:
    window = Window.objects.filter(hall=hall, number=number).first() or Window(
        hall=hall, number=number
    )
    window.name = name
    window.kind = kind
    window.full_clean()
    window.save()
    window.departments.set(list(departments))
    return window


@transaction.atomic
def hall_delete(*, name: str) -> int:
    """Delete a hall and its windows; returns the number of halls deleted (0 or 1)."""
    _, by_model = ServiceHall.objects.filter(name=name).delete()
    return by_model.get("org.ServiceHall", 0)


@transaction.atomic
def department_delete(*, code: str) -> int:
    """Delete a department (refused by the database while anything still refers to it)."""
    _, by_model = Department.objects.filter(code=code).delete()
    return by_model.get("org.Department", 0)


@transaction.atomic
def region_delete(*, code: str) -> int:
    _, by_model = Region.objects.filter(pk=code).delete()
    transaction.on_commit(lambda: cache.delete(PROVINCES_CACHE_KEY))
    return by_model.get("org.Region", 0)
