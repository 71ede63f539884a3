"""Reads of organisation data (all public: no personal data here)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet

from onewindow.org.models import (
    DEPARTMENT_IDS_CACHE_KEY,
    PROVINCES_CACHE_KEY,
    Department,
    Region,
    ServiceHall,
    Window,
)


def region_list(*, parent_code: str | None = None) -> QuerySet[Region]:
    qs = Region.objects.all()
    if parent_code is not None:
        qs = qs.filter(parent_id=parent_code)
    return qs


def platform_province_prefixes() -> frozenset[str]:
    """Province prefixes of the regions this platform serves (fictional ones included).

    Validators accept these besides the national GB/T 2260 list, so the demo's 示范省 (99)
    identifiers validate on this platform and nowhere else.
    """
    cached = cache.get(PROVINCES_CACHE_KEY)
    if cached is None:
        codes = Region.objects.filter(level="province").values_list("code", flat=True)
        cached = frozenset(code[:2] for code in codes)
        cache.set(PROVINCES_CACHE_KEY, cached, 60)
    return frozenset(cached)


def _department_map() -> dict[str, Any]:
    """{"by_code": {code: id}, "by_id": {id: (code, name)}, "active": {id, ...}}, cached
    (every save or delete of a department drops it; see ``org.apps``)."""
    found = cache.get(DEPARTMENT_IDS_CACHE_KEY)
    if found is None:
        rows = list(Department.objects.values_list("id", "code", "name", "is_active"))
        found = {
            "by_code": {code: pk for pk, code, _name, _active in rows},
            "by_id": {pk: (code, name) for pk, code, name, _active in rows},
            "active": {pk for pk, _code, _name, active in rows if active},
        }
        cache.set(DEPARTMENT_IDS_CACHE_KEY, found, 3600)
    return found


def department_id_for(code: str) -> int | None:
    """The id of the department with this code (cached)."""
    found: int | None = _department_map()["by_code"].get(code)
    return found


def active_department_label(department_id: int) -> tuple[str, str] | None:
    """(code, name) of an active department by id, None for an inactive or unknown one (one
    look at the cached map)."""
    found = _department_map()
    if department_id not in found["active"]:
        return None
    label: tuple[str, str] = found["by_id"][department_id]
    return label


def department_label(department_id: int) -> tuple[str, str]:
    """(code, name) of a department by id (cached), ("", "") for an unknown id."""
    found: tuple[str, str] = _department_map()["by_id"].get(department_id, ("", ""))
    return found


def department_list(*, region_code: str | None = None) -> QuerySet[Department]:
    qs = Department.objects.filter(is_active=True).select_related("region")
    if region_code is not None:
        qs = qs.filter(region_id=region_code)
    return qs


def department_get(*, code: str) -> Department | None:
    return Department.objects.select_related("region", "parent").filter(code=code).first()


def hall_list() -> QuerySet[ServiceHall]:
    windows = Window.objects.prefetch_related("departments").order_by("number")
    return ServiceHall.objects.select_related("region", "managed_by").prefetch_related(
        Prefetch("windows", queryset=windows)
    )


def region_full_name(code: str) -> str:
    """A region's name with its parents' (示范省示范市中心区), or the code if unknown."""
    names: list[str] = []
    seen = 0
    current = Region.objects.filter(code=code).select_related("parent").first()
    while current is not None and seen < 4:
        names.append(current.name)
        current = current.parent
        seen += 1
    return "".join(reversed(names)) or code
