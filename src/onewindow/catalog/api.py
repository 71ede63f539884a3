"""Public catalog API: search and browse services, one service with its form and materials."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from onewindow.catalog import selectors
from onewindow.catalog.models import ServiceItem, ServiceVersion
from onewindow.identity.access import public_operation
from onewindow.kit.errors import NOT_FOUND, ApiError

router = Router(tags=["catalog"])


class ServiceSummary(Schema):
    key: str
    name: str
    implementation_code: str
    department: str = Field(description="department code")
    department_name: str
    audience: list[str]
    handling_type: str
    promised_limit_days: int
    visits_required: int
    online: bool
    is_bundle: bool = Field(
        description="a life-event bundle (一件事): one form, a part per department"
    )


class ServicePage(Schema):
    items: list[ServiceSummary]
    total: int
    page: int
    pages: int


class FeeOut(Schema):
    name: str
    amount: str
    basis: str


class MaterialOut(Schema):
    key: str
    name: str
    necessity: str
    required_if: str
    form: str
    copies: int
    source: str
    license_type: str
    acceptance_standard: str
    blank_form: str
    sample: str


class BundleMemberOut(Schema):
    item: str
    name: str
    department: str
    after: list[str]


class BundleOut(Schema):
    """一件事: the member items (one per department) and the pre-checks (预审) by key."""

    on_rejection: str
    members: list[BundleMemberOut]
    prechecks: list[str]


class ServiceDetail(ServiceSummary):
    version: int
    basic_code: str
    item_type: str
    level: str
    life_events: list[str]
    acceptance_conditions: str
    legal_limit_days: int
    location: str
    hours: str
    consult_phone: str
    complaint_phone: str
    legal_basis: str
    process: str
    process_definition: str
    result_name: str
    fees: list[FeeOut]
    materials: list[MaterialOut]
    form: dict[str, Any]
    bundle: BundleOut | None


def _bundle_out(version: ServiceVersion) -> BundleOut | None:
    if not version.bundle:
        return None
    return BundleOut(
        on_rejection=version.bundle["on_rejection"],
        members=[
            BundleMemberOut(
                item=m["item"], name=m["name"], department=m["department"], after=m["after"]
            )
            for m in version.bundle["members"]
        ],
        prechecks=[r["key"] for r in version.bundle.get("prechecks") or []],
    )


def _summary(item: ServiceItem, version: ServiceVersion) -> dict[str, Any]:
    return {
        "key": item.key,
        "name": item.name,
        "implementation_code": item.implementation_code,
        "department": item.department.code,
        "department_name": item.department.name,
        "audience": item.audiences(),
        "handling_type": version.handling_type,
        "promised_limit_days": version.promised_limit_days,
        "visits_required": version.visits_required,
        "online": version.online,
        "is_bundle": item.is_bundle,
    }


@router.get("/services", response=ServicePage, summary="Search or browse services")
@public_operation
def services(
    request: HttpRequest,
    q: str = "",
    audience: str = "",
    department: str = "",
    life_event: str = "",
    page: int = Query(1, ge=1, le=1000),
) -> ServicePage:
    """``q`` is Chinese text (segmented; synonyms expanded); without it, browse by
    ``audience`` (natural_person / legal_person), ``department`` code and ``life_event``."""
    result = selectors.service_search(
        q=q[:100], audience=audience, department=department, life_event=life_event, page=page
    )
    return ServicePage(
        items=[ServiceSummary(**_summary(i, i.published[0])) for i in result.items],  # type: ignore[attr-defined]
        total=result.total,
        page=result.page,
        pages=result.pages,
    )


@router.get(
    "/services/{code}", response=ServiceDetail, summary="One service: guide, form, materials"
)
@public_operation
def service(request: HttpRequest, code: str) -> ServiceDetail:
    """``code`` is the service key or its implementation code (实施编码)."""
    item = selectors.service_get(key_or_code=code)
    version = selectors.published_version_full(item) if item else None
    if item is None or version is None:
        raise ApiError(NOT_FOUND)
    return ServiceDetail(
        **_summary(item, version),
        version=version.number,
        basic_code=item.basic_code,
        item_type=item.item_type,
        level=item.level,
        life_events=sorted(e.code for e in item.life_events.all()),
        acceptance_conditions=version.acceptance_conditions,
        legal_limit_days=version.legal_limit_days,
        location=version.location,
        hours=version.hours,
        consult_phone=version.consult_phone,
        complaint_phone=version.complaint_phone,
        legal_basis=version.legal_basis,
        process=version.process,
        process_definition=version.process_definition,
        result_name=version.result_name,
        fees=[
            FeeOut(name=f.name, amount=f"{f.amount:.2f}", basis=f.basis) for f in version.fees.all()
        ],
        materials=[
            MaterialOut.model_validate(m, from_attributes=True) for m in version.materials.all()
        ],
        form=version.form_schema,
        bundle=_bundle_out(version),
    )
