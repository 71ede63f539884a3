"""Validators for other departments' systems: 公民身份号码, 统一社会信用代码, 行政区划代码."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from onewindow.identity.access import public_operation
from onewindow.kit import validators
from onewindow.org.selectors import platform_province_prefixes

router = Router(tags=["validate"])

Kind = Literal["id_number", "uscc", "area_code"]


class CheckOut(Schema):
    valid: bool
    rule: str | None = Field(description="The rule that failed; null when valid.")
    reason: str = Field(description="Why it failed, in the request's language.")


class BatchItem(Schema):
    kind: Kind
    value: str = Field(max_length=64)


class BatchIn(Schema):
    items: list[BatchItem] = Field(min_length=1, max_length=1000)


class BatchOut(Schema):
    results: list[CheckOut]


def _check(kind: str, value: str) -> CheckOut:
    extra = platform_province_prefixes()
    if kind == "id_number":
        result = validators.validate_id_number(value, extra_provinces=extra)
    elif kind == "uscc":
        result = validators.validate_uscc(value, extra_provinces=extra)
    else:
        result = validators.validate_area_code(value, extra_provinces=extra)
    return CheckOut(valid=result.valid, rule=result.rule, reason=str(result.reason))


@router.get("/id-number/{value}", response=CheckOut, summary="Validate a citizen ID number")
@public_operation
def id_number(request: HttpRequest, value: str) -> CheckOut:
    """GB 11643-1999. Rules: length, charset, area_code, birth_date, check_digit."""
    return _check("id_number", value)


@router.get("/uscc/{value}", response=CheckOut, summary="Validate a unified social credit code")
@public_operation
def uscc(request: HttpRequest, value: str) -> CheckOut:
    """GB 32100-2015. Rules: length, charset, registration_authority, org_type, area_code,
    check_digit."""
    return _check("uscc", value)


@router.get("/area-code/{value}", response=CheckOut, summary="Validate a GB/T 2260 area code")
@public_operation
def area_code(request: HttpRequest, value: str) -> CheckOut:
    return _check("area_code", value)


@router.post("", response=BatchOut, summary="Validate up to 1000 values at once")
@public_operation
def batch(request: HttpRequest, payload: BatchIn) -> BatchOut:
    return BatchOut(results=[_check(item.kind, item.value) for item in payload.items])
