"""The applications API (applicant side) and the tasks API (the staff workbench)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from onewindow.casework import bundles, selectors, services
from onewindow.casework.models import Application, MaterialFile, TimelineEvent
from onewindow.casework.models import Status as CaseStatus
from onewindow.identity.access import CITIZEN, STAFF, Subject, api_access
from onewindow.identity.models import CASEWORK_ROLES
from onewindow.kit.errors import ApiError, FieldError
from onewindow.org.selectors import department_id_for, department_label
from onewindow.workflow import selectors as work
from onewindow.workflow.models import WorkItem, WorkItemStatus

router = Router(tags=["applications"])
tasks_router = Router(tags=["tasks"])


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by the auth classes
    return subject


# --- schemas -----------------------------------------------------------------------------------


class StepOut(Schema):
    task_id: int
    step: str
    step_name: str
    department: str
    department_name: str
    status: str
    due_date: dt.date | None
    light: str


class TimelineOut(Schema):
    at: dt.datetime
    kind: str
    step_name: str
    department_name: str
    opinion: str
    detail: dict[str, Any]


class MaterialFileOut(Schema):
    id: int
    material_key: str
    material_name: str
    version: int
    original_name: str
    content_type: str
    size: int
    sm3: str
    scan_status: str
    uploaded_at: dt.datetime


class SupplementOut(Schema):
    requested_at: dt.datetime
    returned_at: dt.datetime | None
    items: list[dict[str, str]]


class PartOut(Schema):
    """One part (子件) of a bundle application (一件事), or a member not started yet."""

    service_code: str
    service_name: str
    department: str
    department_name: str
    number: str | None
    state: str  # the part's status, or waiting / not_started
    state_label: str
    waiting_for: list[str]
    due_date: dt.date | None
    outcome_reason: str
    current_steps: list[StepOut]


class BlockingOut(Schema):
    key: str
    dataset: str
    department_name: str
    message: str
    advice: str


class PrecheckOut(Schema):
    service_code: str
    passed: bool
    blocking: list[BlockingOut]


class ApplicationSummary(Schema):
    id: str
    number: str | None
    is_bundle: bool
    part_of: str | None
    service_code: str
    service_name: str
    department_name: str
    status: str
    status_label: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    due_date: dt.date | None


class ApplicationOut(ApplicationSummary):
    version: int
    channel: str
    enterprise: str | None
    form_data: dict[str, Any]
    accepted_on: dt.date | None
    limit_days: int | None
    extension_days: int
    provisional: bool
    paused_on: dt.date | None
    remaining_days: int | None
    outcome_reason: str
    current_steps: list[StepOut]
    materials: list[MaterialFileOut]
    supplement: SupplementOut | None
    timeline: list[TimelineOut]
    prefilled: list[str]
    registry_checks: list[dict[str, str]]
    parts: list[PartOut]


class ApplicationIn(Schema):
    service_code: str
    form_data: dict[str, Any] = {}
    citizen_id_number: str = ""


class ApplicationUpdate(Schema):
    form_data: dict[str, Any]
    version: int


class ApplicationPage(Schema):
    items: list[ApplicationSummary]
    total: int


def _summary(application: Application) -> dict[str, Any]:
    return {
        "id": application.public_id,
        "number": application.number,
        "is_bundle": application.service_item.is_bundle,
        "part_of": selectors.bundle_number(application),
        "service_code": application.service_item.key,
        "service_name": application.service_name,
        "department_name": department_label(application.department_id)[1],
        "status": application.status,
        "status_label": str(application.get_status_display()),
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
        "due_date": application.due_date,
    }


def _step_out(item: WorkItem, today: dt.date) -> StepOut:
    code, name = department_label(item.department_id)
    return StepOut(
        task_id=item.pk,
        step=item.step,
        step_name=item.step_name,
        department=code,
        department_name=name,
        status=item.status,
        due_date=item.due_at,
        light=item.light(today),
    )


def _timeline_out(event: TimelineEvent) -> TimelineOut:
    return TimelineOut(
        at=event.at,
        kind=event.kind,
        step_name=event.step_name,
        department_name=event.department_name,
        opinion=event.opinion,
        detail=event.detail,
    )


def _material_out(row: MaterialFile) -> MaterialFileOut:
    return MaterialFileOut.model_validate(row, from_attributes=True)


def application_out(
    application: Application,
    *,
    staff: bool,
    steps: list[WorkItem] | None = None,
    materials: list[MaterialFile] | None = None,
) -> ApplicationOut:
    """The whole application; ``steps`` and ``materials``, when the caller has them exactly as
    :func:`selectors.current_steps` and :func:`selectors.materials` would read them, spare
    those reads."""
    today = services.today()
    if steps is None:
        steps = selectors.current_steps(application=application)
    if materials is None:
        materials = selectors.materials(application=application)
    events = selectors.timeline(application=application, staff=staff)
    # Asked for at most once, and always on the timeline: no query when it never happened.
    supplement = (
        application.supplements.first()
        if any(e.kind == "supplement_requested" for e in events)
        else None
    )
    bundle = application.service_item.is_bundle
    if bundle and application.status == CaseStatus.SUPPLEMENT:
        supplement_out: SupplementOut | None = SupplementOut(
            requested_at=application.updated_at,
            returned_at=None,
            items=bundles.supplement_items(application),
        )
    elif supplement:
        supplement_out = SupplementOut(
            requested_at=supplement.requested_at,
            returned_at=supplement.returned_at,
            items=supplement.items,
        )
    else:
        supplement_out = None
    return ApplicationOut(
        **_summary(application),
        version=application.version,
        channel=application.channel,
        enterprise=application.enterprise.uscc if application.enterprise else None,
        form_data=application.form_data,
        accepted_on=application.accepted_on,
        limit_days=application.limit_days,
        extension_days=application.extension_days,
        provisional=application.provisional,
        paused_on=application.paused_on,
        remaining_days=application.remaining_days,
        outcome_reason=application.outcome_reason,
        current_steps=[_step_out(i, today) for i in steps],
        materials=[_material_out(m) for m in materials],
        supplement=supplement_out,
        timeline=[_timeline_out(e) for e in events],
        prefilled=application.prefilled,
        # The cross-check is for the reviewer: an applicant does not see it.
        registry_checks=application.registry_checks if staff else [],
        parts=[_part_out(p, today) for p in bundles.states(application)] if bundle else [],
    )


def _part_out(state: bundles.PartState, today: dt.date) -> PartOut:
    member, part = state.member, state.part
    code, name = department_label(
        part.department_id if part else department_id_for(member["department"]) or 0
    )
    label = state.label
    return PartOut(
        service_code=member["item"],
        service_name=member["name"],
        department=code,
        department_name=name,
        number=part.number if part else None,
        state=state.state,
        state_label=label,
        waiting_for=state.waiting_for,
        due_date=part.due_date if part else None,
        outcome_reason=part.outcome_reason if part else "",
        current_steps=[_step_out(i, today) for i in selectors.current_steps(application=part)]
        if part is not None
        else [],
    )


def _mine(
    request: HttpRequest, public_id: str, purpose: str, *, related: bool | tuple[str, ...] = True
) -> tuple[Subject, Application]:
    subject = _subject(request)
    return subject, selectors.application_visible(
        subject=subject, public_id=public_id, purpose=purpose, related=related
    )


# --- applicant side ----------------------------------------------------------------------------


@router.get(
    "/applications",
    response=ApplicationPage,
    auth=api_access(CITIZEN),
    summary="My applications (or my enterprise's)",
)
def applications(
    request: HttpRequest,
    status: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
) -> ApplicationPage:
    rows = selectors.applications_mine(subject=_subject(request), status=status).select_related(
        "service_item"
    )
    return ApplicationPage(
        items=[ApplicationSummary(**_summary(a)) for a in rows[offset : offset + limit]],
        total=rows.count(),
    )


@router.post(
    "/applications",
    response={201: ApplicationOut},
    auth=api_access(CITIZEN, STAFF),
    summary="Start a draft (a window clerk may file for a registered citizen)",
)
def application_create(request: HttpRequest, payload: ApplicationIn) -> Status[ApplicationOut]:
    subject = _subject(request)
    application = services.application_create(
        subject=subject,
        service_code=payload.service_code,
        form_data=payload.form_data,
        citizen_id_number=payload.citizen_id_number,
    )
    return Status(201, application_out(application, staff=subject.kind == STAFF))


@router.get(
    "/applications/{public_id}",
    response=ApplicationOut,
    auth=api_access(CITIZEN, STAFF),
    summary="One application: status, current steps, due dates, the whole timeline",
)
def application_detail(request: HttpRequest, public_id: str) -> ApplicationOut:
    subject, application = _mine(request, public_id, "handling", related=selectors.VIEW_RELATED)
    return application_out(application, staff=subject.kind == STAFF)


@router.put(
    "/applications/{public_id}",
    response=ApplicationOut,
    auth=api_access(CITIZEN, STAFF),
    summary="Replace the form answers of a draft or of an application being corrected",
)
def application_update(
    request: HttpRequest, public_id: str, payload: ApplicationUpdate
) -> ApplicationOut:
    subject, application = _mine(request, public_id, "handling")
    application = services.application_update(
        subject=subject,
        application=application,
        form_data=payload.form_data,
        version=payload.version,
    )
    return application_out(application, staff=subject.kind == STAFF)


@router.get(
    "/applications/{public_id}/materials/{file_id}",
    auth=api_access(CITIZEN, STAFF),
    summary="Download one stored material file (any version; staff reads are audited)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as uploaded (PDF, JPG, PNG or OFD)",
                "content": {"application/octet-stream": {}},
            }
        }
    },
)
def material_download(request: HttpRequest, public_id: str, file_id: int) -> FileResponse:
    subject, application = _mine(request, public_id, "handling")
    row = selectors.material_file(
        subject=subject, application=application, file_id=file_id, purpose="handling"
    )
    return selectors.material_response(row)


@router.post(
    "/applications/{public_id}/materials",
    response={201: MaterialFileOut},
    auth=api_access(CITIZEN, STAFF),
    summary="Upload one material (PDF, JPG, PNG or OFD; a replacement becomes a new version)",
)
def material_upload(
    request: HttpRequest,
    public_id: str,
    material_key: Form[str],
    file: File[UploadedFile],
) -> Status[MaterialFileOut]:
    subject, application = _mine(request, public_id, "handling")
    if file.size is not None and file.size > settings.ONEWINDOW_MATERIAL_MAX_BYTES:
        from onewindow.casework.errors import MATERIAL_TOO_LARGE

        raise ApiError(MATERIAL_TOO_LARGE, details=[FieldError("file", "too_large", "")])
    row = services.material_upload(
        subject=subject,
        application=application,
        material_key=material_key,
        name=file.name or "",
        data=file.read(),
    )
    return Status(201, _material_out(row))


@router.post(
    "/applications/{public_id}/submit",
    response=ApplicationOut,
    auth=api_access(CITIZEN, STAFF),
    summary="Submit (or return every correction at once)",
)
def application_submit(request: HttpRequest, public_id: str) -> ApplicationOut:
    subject = _subject(request)
    done = services.application_submit_visible(subject=subject, public_id=public_id)
    return application_out(
        done.application, staff=subject.kind == STAFF, steps=done.steps, materials=done.materials
    )


@router.get(
    "/services/{service_code}/precheck",
    response=PrecheckOut,
    auth=api_access(CITIZEN),
    summary="Pre-check (预审) of a bundle for me or my enterprise: every blocking matter at once",
)
def service_precheck(request: HttpRequest, service_code: str) -> PrecheckOut:
    blocking = bundles.service_precheck(subject=_subject(request), service_code=service_code)
    return PrecheckOut(
        service_code=service_code,
        passed=not blocking,
        blocking=[
            BlockingOut(
                key=b.key,
                dataset=b.dataset,
                department_name=b.department_name,
                message=b.message,
                advice=b.advice,
            )
            for b in blocking
        ],
    )


# --- tasks (the workbench) ---------------------------------------------------------------------


class TaskOut(Schema):
    id: int
    version: int
    kind: str
    case_number: str
    service_name: str
    step: str
    step_name: str
    department: str
    role: str
    status: str
    assignee: str | None
    due_date: dt.date | None
    provisional: bool
    light: str
    escalated: bool
    actions: list[dict[str, str]]
    lifecycle: list[str]
    created_at: dt.datetime


class TaskPage(Schema):
    items: list[TaskOut]
    total: int


class ActionIn(Schema):
    action: str
    version: int
    opinion: str = ""
    items: list[dict[str, str]] | None = None
    reason: str = ""


class ActionOut(Schema):
    task: TaskOut
    application_status: str
    created_tasks: list[int]


def task_out(item: WorkItem, today: dt.date) -> TaskOut:
    return TaskOut(
        id=item.pk,
        version=item.version,
        kind=item.kind,
        case_number=item.case_number,
        service_name=item.service_name,
        step=item.step,
        step_name=item.step_name,
        department=item.department.code,
        role=item.role,
        status=item.status,
        assignee=item.assignee.username if item.assignee_id and item.assignee else None,
        due_date=item.due_at,
        provisional=item.provisional,
        light=item.light(today),
        escalated=item.escalated_at is not None,
        actions=item.actions,
        lifecycle=item.lifecycle,
        created_at=item.created_at,
    )


@tasks_router.get(
    "/tasks",
    response=TaskPage,
    auth=api_access(STAFF, roles=CASEWORK_ROLES),
    summary="My department's inbox for my roles",
)
def tasks(
    request: HttpRequest,
    status: str = WorkItemStatus.OPEN,
    mine: bool = False,
    light: str | None = Query(None, pattern="^(green|yellow|red)$"),
    number: str | None = None,
    role: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> TaskPage:
    today = services.today()
    rows = work.inbox(
        subject=_subject(request),
        today=today,
        status=status,
        mine=mine,
        light=light,
        number=number,
        role=role,
    ).select_related("department", "assignee")
    page = list(rows[offset : offset + limit])
    return TaskPage(items=[task_out(i, today) for i in page], total=rows.count())


@tasks_router.get(
    "/tasks/overdue",
    response=TaskPage,
    auth=api_access(STAFF, roles=["department_head"]),
    summary="Overdue work in my department (heads)",
)
def tasks_overdue(
    request: HttpRequest, limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0)
) -> TaskPage:
    today = services.today()
    rows = work.overdue(subject=_subject(request), today=today).select_related(
        "department", "assignee"
    )
    return TaskPage(
        items=[task_out(i, today) for i in rows[offset : offset + limit]], total=rows.count()
    )


@tasks_router.get(
    "/tasks/{task_id}",
    response=TaskOut,
    auth=api_access(STAFF, roles=CASEWORK_ROLES),
    summary="One task",
)
def task_detail(request: HttpRequest, task_id: int) -> TaskOut:
    return task_out(work.item_visible(subject=_subject(request), item_id=task_id), services.today())


@tasks_router.post(
    "/tasks/{task_id}/actions",
    response=ActionOut,
    auth=api_access(STAFF, roles=CASEWORK_ROLES),
    summary="Act on a task: claim, release, a step action, supplement, suspend, resume, extend",
)
def task_action(request: HttpRequest, task_id: int, payload: ActionIn) -> ActionOut:
    result = services.task_act(
        subject=_subject(request),
        item_id=task_id,
        action=payload.action,
        version=payload.version,
        opinion=payload.opinion,
        items=payload.items,
        reason=payload.reason,
    )
    item = WorkItem.objects.select_related("department", "assignee").get(pk=result.item.pk)
    return ActionOut(
        task=task_out(item, services.today()),
        application_status=result.application.status,
        created_tasks=[i.pk for i in result.created],
    )
