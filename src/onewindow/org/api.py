"""Public organisation API: regions, departments, service halls."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from onewindow.identity.access import public_operation
from onewindow.kit.errors import NOT_FOUND, ApiError
from onewindow.org import selectors

router = Router(tags=["org"])


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None
    is_fictional: bool


class DepartmentOut(Schema):
    code: str
    name: str
    short_name: str
    uscc: str
    region_code: str
    parent_code: str | None
    phone: str
    address: str


class WindowOut(Schema):
    number: str
    name: str
    kind: str
    department_codes: list[str]
    is_open: bool


class HallOut(Schema):
    name: str
    region_code: str
    address: str
    opening_hours: str
    phone: str
    is_accessible: bool
    windows: list[WindowOut]


def _region_out(region: selectors.Region) -> RegionOut:
    return RegionOut(
        code=region.code,
        name=region.name,
        level=region.level,
        parent_code=region.parent_id,
        is_fictional=region.is_fictional,
    )


def _department_out(dept: selectors.Department) -> DepartmentOut:
    return DepartmentOut(
        code=dept.code,
        name=dept.name,
        short_name=dept.short_name,
        uscc=dept.uscc,
        region_code=dept.region_id,
        parent_code=dept.parent.code if dept.parent else None,
        phone=dept.phone,
        address=dept.address,
    )


@router.get("/regions", response=list[RegionOut], summary="List regions (GB/T 2260)")
@public_operation
def regions(request: HttpRequest, parent: str | None = None) -> list[RegionOut]:
    return [_region_out(r) for r in selectors.region_list(parent_code=parent)]


@router.get("/departments", response=list[DepartmentOut], summary="List departments")
@public_operation
def departments(request: HttpRequest, region: str | None = None) -> list[DepartmentOut]:
    qs = selectors.department_list(region_code=region).select_related("parent")
    return [_department_out(d) for d in qs]


@router.get("/departments/{code}", response=DepartmentOut, summary="One department")
@public_operation
def department(request: HttpRequest, code: str) -> DepartmentOut:
    dept = selectors.department_get(code=code)
    if dept is None:
        raise ApiError(NOT_FOUND)
    return _department_out(dept)


@router.get("/halls", response=list[HallOut], summary="Service halls and their windows")
@public_operation
def halls(request: HttpRequest) -> list[HallOut]:
    return [
        HallOut(
            name=h.name,
            region_code=h.region_id,
            address=h.address,
            opening_hours=h.opening_hours,
            phone=h.phone,
            is_accessible=h.is_accessible,
            windows=[
                WindowOut(
                    number=w.number,
                    name=w.name,
                    kind=w.kind,
                    is_open=w.is_open,
                    department_codes=[d.code for d in w.departments.all()],
                )
                for w in h.windows.all()
            ],
        )
        for h in selectors.hall_list()
    ]
