"""Reads of applications, always scoped to what the acting subject may see.

Staff reads of an application (which carries personal data) leave an audit row with the purpose.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import F, Q, QuerySet
from django.http import FileResponse

from onewindow.audit.services import audit_record
from onewindow.casework.models import Application, MaterialFile, Status, TimelineEvent
from onewindow.catalog import selectors as catalog_selectors
from onewindow.identity.access import CITIZEN, STAFF, Subject
from onewindow.identity.models import Enterprise, User
from onewindow.kit.compiled import CompiledRead
from onewindow.kit.errors import NOT_FOUND, ApiError
from onewindow.workflow.models import WorkItem, WorkItemStatus

_Row = TypeVar("_Row", TimelineEvent, MaterialFile)


def applications_mine(*, subject: Subject, status: str | None = None) -> QuerySet[Application]:
    """The citizen's own applications, or those of the enterprise they act for."""
    if subject.kind != CITIZEN or subject.user is None:
        return Application.objects.none()
    if subject.acting_for is not None:
        rows = Application.objects.filter(enterprise=subject.acting_for)
    else:
        rows = Application.objects.filter(applicant=subject.user, enterprise__isnull=True)
    rows = rows.filter(parent__isnull=True)  # a bundle's parts are shown within it
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("department")


def bundle_number(application: Application) -> str | None:
    """The number of the bundle (一件事) this application is a part of, else None."""
    if application.parent_id is None or not application.number:
        return None
    return application.number.rsplit("-", 1)[0]


# What a service acting on a locked application reads with it (see services._locked_application).
LOCKED_RELATED = ("service_item", "service_version", "department", "enterprise")
# What submitting a plain draft reads with it: not the version (its form schema and guide text
# are large, and the services keep what they need of a published version per process).
SUBMIT_RELATED = ("service_item", "department", "enterprise")
# What the API's answer (GET /api/v1/applications/{number}) needs with the application. By
# number, ``application_visible`` reads the row through a compiled read and the service item
# by id beside it; an enterprise application's enterprise loads when used (one query more), and
# the department's name comes from org's cached map (``department_label``). The pages still
# read with ``FULL_RELATED``.
VIEW_RELATED = ("service_item", "enterprise")
# What the general read takes along (services that act on the row use its version and applicant).
FULL_RELATED = ("department", "service_version", "service_item", "applicant", "enterprise")


def _lookup(public_id: str) -> Q:
    try:
        return Q(ref=uuid.UUID(hex=public_id)) if len(public_id) == 32 else Q(number=public_id)
    except ValueError:
        return Q(number=public_id)


def application_visible(
    *,
    subject: Subject,
    public_id: str,
    purpose: str,
    related: bool | tuple[str, ...] = True,
    for_update: bool = False,
) -> Application:
    """One application by number (or draft reference), if the subject may see it.

    Applicants see their own; staff see those of their department, those with a work item in
    their department (parallel steps elsewhere), and those they filed at a counter. With
    ``related=False`` only the row itself is read (for a service that re-reads it under lock);
    a tuple names the relations read with it (e.g. ``VIEW_RELATED``; others load when used).
    ``for_update`` (inside a transaction) locks the row and reads what submitting a draft needs
    with it (``SUBMIT_RELATED``), so a service may act on it without reading it again.
    """
    if related == VIEW_RELATED and not for_update and len(public_id) != 32:
        found = _by_number_read(public_id)
        application = found[0] if found else None
        if application is not None:
            item = catalog_selectors.item_by_id(application.service_item_id)
            if item is not None:  # the foreign key holds; None only if deleted meanwhile
                application.service_item = item
        return _visible_or_404(subject, application, purpose)
    rows = Application.objects.filter(_lookup(public_id))
    if for_update:
        rows = rows.select_for_update(of=("self",)).select_related(*SUBMIT_RELATED)
    elif related:
        rows = rows.select_related(*(FULL_RELATED if isinstance(related, bool) else related))
    return _visible_or_404(subject, application=rows.first(), purpose=purpose)


# A read by number (the common case) for the API's answer: compiled once (kit.compiled), the
# service item read by id beside it and the enterprise when used, instead of a joined read that
# Django would build and compile on every request.
_by_number_read = CompiledRead(
    Application, lambda number: Application.objects.filter(number=number)
)


def _visible_or_404(subject: Subject, application: Application | None, purpose: str) -> Application:
    if application is None or not _may_see(subject, application):
        raise ApiError(NOT_FOUND)
    if subject.kind == STAFF:
        audit_record(
            actor=subject.label,
            action="casework.view",
            object_type="casework.application",
            object_id=application.public_id,
            detail={"purpose": purpose},
        )
    return application


def _may_see(subject: Subject, application: Application) -> bool:
    if subject.kind == CITIZEN and subject.user is not None:
        if subject.acting_for is not None:
            return application.enterprise_id == subject.acting_for.pk
        return application.applicant_id == subject.user.pk and application.enterprise_id is None
    if subject.kind == STAFF and subject.user is not None:
        if application.filed_by_id == subject.user.pk:
            return True
        if application.number is None:
            return False
        if application.department_id == subject.department_id:
            return True
        return WorkItem.objects.filter(
            case_number=application.number, department_id=subject.department_id or 0
        ).exists()
    return False


CURRENT_STEP_STATUSES = (WorkItemStatus.OPEN, WorkItemStatus.PAUSED)

# The three reads of every application answer, compiled once per process (kit.compiled).
_timeline_read = CompiledRead(
    TimelineEvent, lambda pk: TimelineEvent.objects.filter(application_id=pk)
)
_current_files_read = CompiledRead(
    MaterialFile, lambda pk: MaterialFile.objects.filter(application_id=pk, current=True)
)
_current_steps_read = CompiledRead(
    WorkItem,
    lambda number: WorkItem.objects.filter(
        case_number=number, status__in=CURRENT_STEP_STATUSES
    ).order_by(F("due_at").asc(nulls_last=True), "id"),
)


def _of(application: Application, rows: list[_Row]) -> list[_Row]:
    """The rows with their ``application`` set, as the related manager would (no query)."""
    for row in rows:
        row.application = application
    return rows


def timeline(*, application: Application, staff: bool) -> list[TimelineEvent]:
    events = _of(application, _timeline_read(application.pk))
    if not staff:
        for event in events:
            if not event.opinion_public:
                event.opinion = ""
    return events


def current_steps(*, application: Application) -> list[WorkItem]:
    if application.number is None:
        return []
    # the department's code and name come from org's cached map (department_label)
    return _current_steps_read(application.number)


def current_step_order(item: WorkItem) -> tuple[bool, Any, int]:
    """The order of :func:`current_steps` (earliest due first, no due date last, then id), for
    a list already in memory."""
    return (item.due_at is None, item.due_at or 0, item.pk)


def materials(*, application: Application, history: bool = False) -> list[MaterialFile]:
    if not history:
        return _of(application, _current_files_read(application.pk))
    return list(application.material_files.all())


def material_file(
    *, subject: Subject, application: Application, file_id: int, purpose: str
) -> MaterialFile:
    """One stored file of an application the subject may already see (any version, so a
    reviewer can compare a replacement with what it replaced). A staff member's opening of a
    file leaves an audit row naming the file, its hash and the purpose."""
    row = MaterialFile.objects.filter(application=application, pk=file_id).first()
    if row is None:
        raise ApiError(NOT_FOUND)
    if subject.kind == STAFF:
        audit_record(
            actor=subject.label,
            action="casework.material.view",
            object_type="casework.application",
            object_id=application.public_id,
            object_repr=row.material_name,
            detail={
                "purpose": purpose,
                "file": row.pk,
                "material": row.material_key,
                "version": row.version,
                "sm3": row.sm3,
            },
        )
    return row


def material_response(row: MaterialFile) -> FileResponse:
    """The file as a download: the type recognised at upload, the applicant's file name, never
    rendered inline by the browser and never kept in a shared cache."""
    response = FileResponse(
        row.file.open("rb"),
        as_attachment=True,
        filename=row.original_name,
        content_type=row.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@dataclass(frozen=True)
class ApprovedForIssue:
    """What the license issuer needs of an approved application (a system read for issuing
    the result the applicant applied for; the issue itself is audited)."""

    number: str
    service_key: str
    applicant: User
    enterprise: Enterprise | None
    answers: dict[str, Any]
    part_of: str = ""  # the bundle (一件事) this is a part of


def approved_for_issue(*, number: str) -> ApprovedForIssue | None:
    """The approved (or approved and completed) application ``number``, else None."""
    row = (
        Application.objects.select_related("service_item", "applicant", "enterprise")
        .filter(number=number, status__in=[Status.APPROVED, Status.COMPLETED])
        .first()
    )
    # Completed is also where a rejection ends: only an "approved" line on the timeline counts.
    if row is None or not row.timeline.filter(kind="approved").exists():
        return None
    return ApprovedForIssue(
        number=row.public_id,
        service_key=row.service_item.key,
        applicant=row.applicant,
        enterprise=row.enterprise,
        answers=dict(row.form_data or {}),
        part_of=row.number.rsplit("-", 1)[0] if row.parent_id and row.number else "",
    )


def licenses_used(*, application: Application) -> list[dict[str, Any]]:
    """The e-licenses that provided materials at the last submission or returned correction
    (免提交, as sealed), with their status now, for whoever handles the application."""
    from onewindow.casework.services import _materials_for
    from onewindow.license import selectors as license_selectors
    from onewindow.license.services import effective_status

    seal = application.seals.order_by("-sealed_at", "-id").first()  # the last (re)submission
    used: dict[str, str] = seal.licenses if seal is not None else {}
    if not used:
        return []
    rows = license_selectors.licenses_by_identifier(list(used.values()))
    names = {m.key: m.name for m in _materials_for(application.service_version_id)}
    found = []
    for key, identifier in used.items():
        row = rows.get(identifier)
        if row is not None:
            found.append(
                {"material": names.get(key, key), "license": row, "status": effective_status(row)}
            )
    return found


def result_licenses(*, application: Application) -> list[Any]:
    """The e-licenses issued as this application's result (办理结果)."""
    from onewindow.license import selectors as license_selectors

    return license_selectors.licenses_for_application(application.number or "")
