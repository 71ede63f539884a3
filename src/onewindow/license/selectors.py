"""Reads of e-licenses, scoped to the acting subject: the holder's wallet (卡包), the issuing
department's register, and the reuse check (免提交) for applications."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.utils import timezone

from onewindow.identity.access import CITIZEN, STAFF, Subject
from onewindow.kit.errors import ApiError
from onewindow.license import errors
from onewindow.license.models import HolderKind, License, LicenseType, Status, StatusChange


def _holder_filter(subject: Subject) -> Q | None:
    if subject.kind != CITIZEN or subject.user is None:
        return None
    if subject.acting_for is not None:
        return Q(holder_enterprise=subject.acting_for)
    return Q(holder_user=subject.user)


def licenses_mine(*, subject: Subject) -> QuerySet[License]:
    """The wallet: the citizen's own licenses, or the enterprise's when acting for one."""
    where = _holder_filter(subject)
    if where is None:
        return License.objects.none()
    return License.objects.filter(where).select_related("license_type", "issuer")


def license_visible(*, subject: Subject, identifier: str) -> License:
    """One license its holder or the issuing department's staff may open; else 404."""
    row = (
        License.objects.select_related("license_type", "issuer", "signing_key")
        .filter(identifier=identifier)
        .first()
    )
    if row is None:
        raise ApiError(errors.LICENSE_NOT_FOUND)
    where = _holder_filter(subject)
    holder = where is not None and License.objects.filter(where, pk=row.pk).exists()
    issuer_staff = subject.kind == STAFF and subject.department_id == row.issuer_id
    if not (holder or issuer_staff):
        raise ApiError(errors.LICENSE_NOT_FOUND)
    return row


def licenses_issued(*, subject: Subject, query: str = "") -> QuerySet[License]:
    """The issuing department's register, newest first (staff of that department only)."""
    if subject.kind != STAFF or subject.department_id is None:
        return License.objects.none()
    rows = License.objects.filter(issuer_id=subject.department_id)
    query = query.strip()
    if query:
        rows = rows.filter(
            Q(identifier=query) | Q(holder_name__contains=query) | Q(application_number=query)
        )
    return rows.select_related("license_type")


def status_history(*, license: License) -> list[StatusChange]:
    return list(license.changes.all())


TYPES_CACHE_KEY = "license:type-kinds"


def type_kinds() -> dict[str, str]:
    """Active license types this platform issues: key -> holder kind. Cached (one cache read
    instead of a query on every submission); dropped when a type is saved or deleted."""
    kinds: dict[str, str] | None = cache.get(TYPES_CACHE_KEY)
    if kinds is None:
        kinds = dict(LicenseType.objects.filter(is_active=True).values_list("key", "holder_kind"))
        cache.set(TYPES_CACHE_KEY, kinds, 3600)
    return kinds


def licenses_for_materials(
    *,
    type_keys: set[str],
    applicant_id: int,
    enterprise_id: int | None,
    day: dt.date | None = None,
) -> dict[str, License | None]:
    """For materials provided by e-licenses (免提交): per license type this platform issues and
    whose holder is known, the holder's valid license of it, or None when there is none (the
    applicant then uploads the material). Types the platform does not issue (held in the
    national e-license library and fetched by the department), and organisation licenses of an
    application filed by a person for themselves, are left out: the department fetches them.
    At most one query whatever the number of materials."""
    if not type_keys:
        return {}
    day = day or timezone.localdate()
    kinds = type_kinds()
    holder = {
        key: kinds[key]
        for key in type_keys
        if key in kinds and (kinds[key] == HolderKind.PERSON or enterprise_id is not None)
    }
    if not holder:
        return {}
    found: dict[str, License | None] = dict.fromkeys(holder)
    mine = Q(holder_user_id=applicant_id, license_type__holder_kind=HolderKind.PERSON)
    if enterprise_id is not None:
        mine |= Q(
            holder_enterprise_id=enterprise_id,
            license_type__holder_kind=HolderKind.ORGANISATION,
        )
    rows = (
        License.objects.filter(mine, license_type__key__in=holder, status=Status.VALID)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .select_related("license_type", "issuer")
        .order_by("issued_on", "id")
    )
    for row in rows:  # the newest wins
        found[row.license_type.key] = row
    return found


def pdf_response(row: License) -> FileResponse:
    """The signed PDF as a download (never rendered inline from our origin)."""
    response = FileResponse(
        row.pdf.open("rb"),
        as_attachment=True,
        filename=f"{row.license_type.name}-{row.identifier}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def licenses_by_identifier(identifiers: list[str]) -> dict[str, License]:
    """Licenses an application used (免提交), for the staff handling that application: the
    caller has already checked that the subject may see the application."""
    rows = License.objects.filter(identifier__in=identifiers).select_related(
        "license_type", "issuer"
    )
    return {row.identifier: row for row in rows}


def licenses_for_application(number: str) -> list[License]:
    """The licenses issued as the result (办理结果) of application ``number``, for whoever may
    see that application (the caller checked)."""
    if not number:
        return []
    return list(License.objects.filter(application_number=number).select_related("license_type"))
