"""Application pages (办件) for applicants and the staff workbench (工作台).

Server-rendered, no JavaScript: every form posts back to the server, an error is shown next to
the field it is about (and listed at the top with a link to it), and nothing typed is lost when a
save or an action fails. Views stay thin: each calls one service or selector of casework or
workflow; this module only turns form posts into service arguments and errors into page text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from onewindow.casework import bundles, forms, selectors, services
from onewindow.casework import errors as casework_errors
from onewindow.casework.models import (
    PAUSED_STATUSES,
    Application,
    Status,
    SuspensionReason,
    TimelineEvent,
)
from onewindow.catalog import selectors as catalog_selectors
from onewindow.identity.access import CITIZEN, STAFF, Subject, page_access
from onewindow.identity.models import CASEWORK_ROLES
from onewindow.kit.errors import ApiError
from onewindow.org.selectors import department_id_for, department_label
from onewindow.workflow import selectors as work
from onewindow.workflow.errors import TASK_VERSION_CONFLICT
from onewindow.workflow.models import Light, WorkItem, WorkItemKind, WorkItemStatus

EDITABLE = (Status.DRAFT, Status.SUPPLEMENT)
INBOX_PAGE_SIZE = 50
MINE_PAGE_SIZE = 20
LIGHT_TEXT: dict[str, Any] = {
    Light.GREEN: gettext_lazy("Green · on time"),
    Light.YELLOW: gettext_lazy("Yellow · due soon"),
    Light.RED: gettext_lazy("Red · overdue"),
}


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by page_access
    return subject


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


# --- reading applications ----------------------------------------------------------------------


def _application(request: HttpRequest, public_id: str) -> Application:
    """The application if this person may see it; 404 otherwise (no hint that it exists)."""
    subject = _subject(request)
    if subject.kind == STAFF and not subject.roles & set(CASEWORK_ROLES):
        raise PermissionDenied(_("Your role does not allow this."))
    if len(public_id) > 64:
        raise Http404
    try:
        return selectors.application_visible(
            subject=subject, public_id=public_id, purpose="handling"
        )
    except ApiError:
        raise Http404 from None


# --- applicant pages ---------------------------------------------------------------------------


@page_access(CITIZEN)
def apply(request: HttpRequest, key: str) -> HttpResponse:
    """Start a draft of a service (GET shows what happens; POST starts it)."""
    item = catalog_selectors.service_get(key_or_code=key)
    version = catalog_selectors.published_version_full(item) if item else None
    if item is None or version is None:
        raise Http404
    subject = _subject(request)
    errors = forms.PageErrors()
    if request.method == "POST":
        try:
            application = services.application_create(subject=subject, service_code=item.key)
        except ApiError as error:
            errors = forms.page_errors(error)
        else:
            messages.success(
                request,
                _(
                    "Your draft is started. It is saved each time you press Save, so you can stop "
                    "and come back."
                ),
            )
            return HttpResponseRedirect(reverse("casework:edit", args=[application.public_id]))
    return render(
        request,
        "casework/apply.html",
        {
            "item": item,
            "version": version,
            "materials": version.materials.all(),
            "acting_for": subject.acting_for,
            "errors": errors,
            "members": catalog_selectors.bundle_members(version) if item.is_bundle else [],
            "has_prechecks": item.is_bundle and catalog_selectors.bundle_has_prechecks(version),
        },
        status=422 if errors else 200,
    )


@page_access(CITIZEN)
@require_GET
def precheck(request: HttpRequest, key: str) -> HttpResponse:
    """预审 of a bundle for the person (or the enterprise they act for): every matter that stops
    the application, all at once, or that nothing does. Each record read is logged for them."""
    item = catalog_selectors.service_get(key_or_code=key)
    version = catalog_selectors.published_version_full(item) if item else None
    if item is None or version is None or not item.is_bundle:
        raise Http404
    subject = _subject(request)
    enterprise = subject.acting_for
    cannot = ""  # why the check cannot run for this person
    blocking: list[bundles.Blocking] | None = None
    if catalog_selectors.bundle_has_prechecks(version):
        try:
            # Refuses the wrong kind of applicant and an agent outside its grant: the check
            # reads the enterprise's records, so only those who may apply may run it.
            blocking = bundles.service_precheck(subject=subject, service_code=item.key)
        except ApiError as error:
            if error.error is casework_errors.SERVICE_AUDIENCE and enterprise is not None:
                cannot = _(
                    "This service is for individuals: act for yourself to run the pre-check."
                )
            elif error.error is casework_errors.SERVICE_AUDIENCE:
                cannot = _(
                    "This service is for enterprises: choose the enterprise you act for, then "
                    "run the pre-check."
                )
            else:
                cannot = str(error.message or error.error.message)
    return render(
        request,
        "casework/precheck.html",
        {
            "item": item,
            "version": version,
            "acting_for": enterprise,
            "cannot": cannot,
            "has_prechecks": catalog_selectors.bundle_has_prechecks(version),
            "blocking": blocking,
            "needs_enterprise": enterprise is None and not item.serves_individuals,
            "needs_self": enterprise is not None and not item.serves_organisations,
            "checked_on": services.today(),
        },
    )


@page_access(CITIZEN)
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    rows = selectors.applications_mine(subject=_subject(request), status=status or None)
    page = Paginator(rows, MINE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "casework/application_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Status.choices,
            "paused_statuses": PAUSED_STATUSES,
            "editable": EDITABLE,
        },
    )


def _steps(application: Application, today: dt.date) -> list[dict[str, Any]]:
    return [
        {
            "item": item,
            "light": item.light(today),
            "department_name": department_label(item.department_id)[1],
        }
        for item in selectors.current_steps(application=application)
    ]


@page_access(CITIZEN, STAFF)
@require_GET
def material_download(request: HttpRequest, public_id: str, file_id: int) -> FileResponse:
    """A stored material file, for its applicant and for the staff who may see the case."""
    application = _application(request, public_id)
    try:
        row = selectors.material_file(
            subject=_subject(request), application=application, file_id=file_id, purpose="handling"
        )
    except ApiError:
        raise Http404 from None
    return selectors.material_response(row)


@page_access(CITIZEN, STAFF)
@require_GET
def application_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    application = _application(request, public_id)
    staff = _subject(request).kind == STAFF
    today = services.today()
    supplement = application.supplements.first()
    bundle = application.service_item.is_bundle
    return render(
        request,
        "casework/application_detail.html",
        {
            "application": application,
            "staff": staff,
            "steps": _steps(application, today),
            "timeline": _timeline_rows(selectors.timeline(application=application, staff=staff)),
            "materials": selectors.materials(application=application),
            "results": selectors.result_licenses(application=application),
            "supplement": supplement,
            "supplement_rows": _supplement_rows(application),
            "editable": application.status in EDITABLE and application.parent_id is None,
            "paused": application.status in PAUSED_STATUSES,
            "bundle": bundle,
            "parts": _part_rows(application) if bundle and application.number else [],
            "members": catalog_selectors.bundle_members(application.service_version)
            if bundle and not application.number
            else [],
            "part_of": selectors.bundle_number(application),
        },
    )


def _part_rows(parent: Application) -> list[dict[str, Any]]:
    """The task list (任务清单) of a bundle: each member with its part once started."""
    rows = []
    for position, state in enumerate(bundles.states(parent), start=1):
        part, member = state.part, state.member
        if part is not None:
            department = part.department.name
        else:
            department = department_label(department_id_for(str(member["department"])) or 0)[1]
        label = state.label
        rows.append(
            {
                "position": position,
                "name": member.get("name") or member["item"],
                "department": department or member["department"],
                "part": part,
                "state": state.state,
                "label": label,
                "waiting_for": state.waiting_for,
                "refused": state.refused,
                "paused": part is not None and part.status in PAUSED_STATUSES,
                "steps": [i.step_name for i in selectors.current_steps(application=part)]
                if part is not None
                else [],
            }
        )
    return rows


def _supplement_rows(application: Application) -> list[dict[str, str]]:
    """What to correct: a bundle gathers every part's list on its own fields and materials
    (asked once); a part's list is corrected in its bundle."""
    if application.status != Status.SUPPLEMENT:
        return []
    if not application.service_item.is_bundle:
        rows = forms.supplement_rows(application)
        if application.parent_id is not None:
            parent = reverse("casework:detail", args=[selectors.bundle_number(application)])
            rows = [{**row, "href": parent} for row in rows]
        return rows
    edit = reverse("casework:edit", args=[application.public_id])
    return [
        {
            **row,
            "href": f"{edit}#"
            + (forms.input_id(row["key"]) if row["kind"] == "field" else f"material-{row['key']}"),
        }
        for row in bundles.supplement_items(application)
    ]


def _in_bundle(request: HttpRequest, application: Application) -> HttpResponse | None:
    """A part (子件) is never changed on its own: its bundle is (one form, one correction)."""
    number = selectors.bundle_number(application)
    if number is None:
        return None
    messages.info(
        request,
        _("This is a part of the bundle application %(number)s: make changes there.")
        % {"number": number},
    )
    return HttpResponseRedirect(reverse("casework:detail", args=[number]))


def _render_edit(
    request: HttpRequest,
    application: Application,
    *,
    answers: Mapping[str, Any],
    errors: forms.PageErrors | None = None,
    saved: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    schema = forms.schema_of(application)
    errors = errors if errors is not None else forms.PageErrors()
    regions = forms.regions()
    rows = _supplement_rows(application)
    to_correct = forms.corrections(rows)
    views = forms.field_views(
        schema,
        answers,
        problems=errors.fields,
        saved=saved,
        regions=regions,
        corrections=to_correct,
        prefilled=application.prefilled,
    )
    return render(
        request,
        "casework/application_edit.html",
        {
            "application": application,
            "fields": views,
            "field_rows": _with_headings(schema, views),
            "has_conditions": any(f.show_if is not None for f in schema.fields),
            "regions": regions,
            "materials": forms.material_views(
                application, application.form_data, errors.fields, to_correct
            ),
            "errors": errors,
            "supplement_rows": rows,
        },
        status=status,
    )


def _with_headings(schema: Any, views: list[forms.FieldView]) -> list[tuple[str, forms.FieldView]]:
    """The fields of a bundle's merged form together by ``group`` (the shared fields, then each
    member item's; groups in the order they first appear), each with the heading to show
    before it: its group when it differs from the previous shown field's, else "". A form
    without groups keeps its order and has no headings."""
    groups = {f.key: str(f.spec.get("group") or "") for f in schema.fields}
    first: dict[str, int] = {}
    for index, view in enumerate(views):
        first.setdefault(groups.get(view.key, ""), index)
    ordered = sorted(views, key=lambda v: first[groups.get(v.key, "")])  # stable
    rows = []
    previous = ""
    for view in ordered:
        group = groups.get(view.key, "")
        heading = group if view.shown and group and group != previous else ""
        if view.shown:
            previous = group
        rows.append((heading, view))
    return rows


def _not_editable(request: HttpRequest, application: Application) -> HttpResponse:
    messages.info(request, str(casework_errors.APPLICATION_NOT_EDITABLE.message))
    return HttpResponseRedirect(reverse("casework:detail", args=[application.public_id]))


@page_access(CITIZEN, STAFF)
def application_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """The form of a draft (or of an application being corrected), saved as a draft."""
    application = _application(request, public_id)
    if (redirect := _in_bundle(request, application)) is not None:
        return redirect
    if application.status not in EDITABLE:
        return _not_editable(request, application)
    schema = forms.schema_of(application)
    if request.method == "POST":
        answers = forms.answers_from_post(schema, request.POST)
        try:
            application = services.application_update(
                subject=_subject(request),
                application=application,
                form_data=answers,
                version=_int(request.POST.get("version")),
            )
        except ApiError as error:
            application.refresh_from_db()
            errors = forms.page_errors(error, forms.problem_anchor)
            conflict = error.error.code == casework_errors.APPLICATION_VERSION_CONFLICT.code
            if conflict:
                errors.message += " " + _(
                    "Your answers are still below and nothing was saved. Where the saved answer "
                    "is different, it is shown under the field; press Save again to keep yours."
                )
            return _render_edit(
                request,
                application,
                answers=answers,
                errors=errors,
                saved=application.form_data if conflict else None,
                status=forms.status_for(error),
            )
        messages.success(request, _("Your answers are saved."))
        if request.POST.get("then") == "check":
            return HttpResponseRedirect(reverse("casework:check", args=[application.public_id]))
        return HttpResponseRedirect(reverse("casework:edit", args=[application.public_id]))
    errors = forms.PageErrors()
    everything = request.GET.get("problems") == "1"
    _cleaned, problems = services.application_problems(application)
    for problem in problems:
        # A fresh draft is not told off for what it has not answered yet.
        if problem.field.startswith("form_data.") and (everything or problem.code != "required"):
            errors.fields.setdefault(forms.problem_anchor(problem.field), []).append(
                str(problem.message)
            )
    return _render_edit(request, application, answers=application.form_data, errors=errors)


@page_access(CITIZEN, STAFF)
@require_POST
def material_upload(request: HttpRequest, public_id: str) -> HttpResponse:
    application = _application(request, public_id)
    if (redirect := _in_bundle(request, application)) is not None:
        return redirect
    if application.status not in EDITABLE:
        return _not_editable(request, application)
    key = request.POST.get("material_key", "")[:64]
    anchor = f"material-{key}"
    upload = request.FILES.get("file")
    errors = forms.PageErrors()
    status = 422
    if upload is None or not upload.size:
        errors.message = _("The file was not uploaded.")
        errors.add(anchor, _("Choose a file to upload."))
    elif upload.size > settings.ONEWINDOW_MATERIAL_MAX_BYTES:
        status = casework_errors.MATERIAL_TOO_LARGE.status
        errors.message = str(casework_errors.MATERIAL_TOO_LARGE.message)
        errors.add(
            anchor,
            _("At most %(mb)s MB.")
            % {"mb": settings.ONEWINDOW_MATERIAL_MAX_BYTES // (1024 * 1024)},
        )
    else:
        try:
            row = services.material_upload(
                subject=_subject(request),
                application=application,
                material_key=key,
                name=upload.name or "",
                data=upload.read(),
            )
        except ApiError as error:
            errors = forms.page_errors(error, lambda _field: anchor)
            status = forms.status_for(error)
            if not error.details:
                errors.add(anchor, errors.message)
        else:
            messages.success(
                request,
                _("“%(name)s” is uploaded (version %(version)s).")
                % {"name": row.material_name, "version": row.version},
            )
            url = reverse("casework:edit", args=[application.public_id])
            return HttpResponseRedirect(f"{url}#{anchor}")
    application.refresh_from_db()
    return _render_edit(
        request, application, answers=application.form_data, errors=errors, status=status
    )


@page_access(CITIZEN, STAFF)
@require_GET
def application_check(request: HttpRequest, public_id: str) -> HttpResponse:
    """核对信息: every answer, every material and every problem, before submission."""
    application = _application(request, public_id)
    if (redirect := _in_bundle(request, application)) is not None:
        return redirect
    if application.status not in EDITABLE:
        return _not_editable(request, application)
    schema = forms.schema_of(application)
    _cleaned, problems = services.application_problems(application)
    return render(
        request,
        "casework/application_check.html",
        {
            "application": application,
            "answers": forms.answer_rows(application, schema, change_links=True),
            "materials": forms.material_views(application, application.form_data),
            "problems": forms.problem_links(application, schema, problems),
            "supplement_rows": _supplement_rows(application),
        },
    )


@page_access(CITIZEN, STAFF)
@require_POST
def application_submit(request: HttpRequest, public_id: str) -> HttpResponse:
    application = _application(request, public_id)
    if (redirect := _in_bundle(request, application)) is not None:
        return redirect
    returning = application.status == Status.SUPPLEMENT
    try:
        application = services.application_submit(
            subject=_subject(request), application=application
        )
    except ApiError as error:
        if error.error.code == casework_errors.BUNDLE_PRECHECK_FAILED.code:
            messages.error(
                request,
                _(
                    "Nothing was submitted: the pre-check (预审) found matters to settle first. "
                    "Each is listed below; your draft is kept."
                ),
            )
            key = application.service_item.key
            return HttpResponseRedirect(reverse("casework:precheck", args=[key]))
        messages.error(request, str(error.message or error.error.message))
        if error.error.code == casework_errors.APPLICATION_INCOMPLETE.code:
            return HttpResponseRedirect(reverse("casework:check", args=[application.public_id]))
        return HttpResponseRedirect(reverse("casework:detail", args=[application.public_id]))
    if returning:
        text = _("Your corrections are returned for application %(number)s.")
    else:
        text = _("Your application is submitted. Its number is %(number)s.")
    messages.success(request, text % {"number": application.number})
    return HttpResponseRedirect(reverse("casework:detail", args=[application.public_id]))


# --- the timeline, in words --------------------------------------------------------------------

TIMELINE_TEXT = {
    "created": gettext_lazy("Draft started"),
    "submitted": gettext_lazy("Submitted"),
    "step_done": gettext_lazy("Step done"),
    "accepted": gettext_lazy("Accepted (受理)"),
    "not_accepted": gettext_lazy("Not accepted (不予受理)"),
    "supplement_requested": gettext_lazy("Correction requested (补正告知)"),
    "supplement_returned": gettext_lazy("Corrections returned"),
    "suspended": gettext_lazy("Suspended; the clock stopped (中止)"),
    "resumed": gettext_lazy("Resumed; the clock runs again"),
    "extension_requested": gettext_lazy("Extension of the time limit requested"),
    "extension_refused": gettext_lazy("Extension refused"),
    "extended": gettext_lazy("Time limit extended (延期)"),
    "approved": gettext_lazy("Approved (准予)"),
    "rejected": gettext_lazy("Rejected (不予许可)"),
    "completed": gettext_lazy("Completed (办结)"),
    "terminated": gettext_lazy("Stopped with the bundle (整件退回，终止办理)"),
    "bundle_dispatched": gettext_lazy(
        "Accepted at one window and sent to each department (一窗受理，分送各部门)"
    ),
    "bundle_part_started": gettext_lazy("A waiting part started"),
    "bundle_returned": gettext_lazy("Returned as a whole (整件退回)"),
    "part_suspended": gettext_lazy("A part was suspended (中止)"),
    "part_resumed": gettext_lazy("A suspended part resumed"),
    "part_extended": gettext_lazy("The time limit of a part was extended (延期)"),
    "corrected_with_bundle": gettext_lazy("Updated with the bundle's correction"),
}


def _timeline_rows(events: Iterable[TimelineEvent]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        detail = event.detail or {}
        notes = []
        if detail.get("counter"):
            notes.append(_("at a counter, by a window clerk (帮办代办)"))
        if event.kind == "accepted" and detail.get("due_date"):
            notes.append(_("due on %(date)s") % {"date": detail["due_date"]})
        if event.kind == "extended" and detail.get("days"):
            notes.append(_("%(days)s more working days") % {"days": detail["days"]})
            if detail.get("due_date"):
                notes.append(_("due on %(date)s") % {"date": detail["due_date"]})
        if event.kind == "suspended" and detail.get("reason") in SuspensionReason.values:
            notes.append(str(SuspensionReason(detail["reason"]).label))
        if event.kind == "submitted" and detail.get("part_of"):
            notes.append(_("as a part of the bundle %(number)s") % {"number": detail["part_of"]})
        if event.kind == "bundle_dispatched":
            if detail.get("due_date"):
                notes.append(_("due on %(date)s") % {"date": detail["due_date"]})
            notes += [
                f"{p.get('service_name', '')} {p.get('number', '')}".strip()
                for p in detail.get("parts") or []
                if isinstance(p, Mapping)
            ]
        if event.kind == "bundle_part_started":
            notes.append(f"{detail.get('service_name', '')} {detail.get('number', '')}".strip())
        if event.kind in ("part_suspended", "part_resumed", "part_extended"):
            notes.append(f"{detail.get('service_name', '')} {detail.get('part', '')}".strip())
            if detail.get("due_date"):
                notes.append(_("due on %(date)s") % {"date": detail["due_date"]})
        if event.kind in ("completed", "bundle_returned"):
            if detail.get("granted"):
                notes.append(_("granted: %(names)s") % {"names": "、".join(detail["granted"])})
            if detail.get("refused"):
                notes.append(_("refused: %(names)s") % {"names": "、".join(detail["refused"])})
        rows.append(
            {
                "event": event,
                "text": TIMELINE_TEXT.get(event.kind, event.kind),
                "notes": notes,
                "items": detail.get("items") if event.kind == "supplement_requested" else None,
            }
        )
    return rows


# --- the staff workbench -----------------------------------------------------------------------


def _task_rows(items: Iterable[WorkItem], today: dt.date) -> list[dict[str, Any]]:
    return [{"item": item, "light": item.light(today)} for item in items]


@page_access(STAFF, roles=CASEWORK_ROLES)
@require_GET
def workbench(request: HttpRequest) -> HttpResponse:
    """The inbox (待办) of the department for the person's roles, soonest due first."""
    subject = _subject(request)
    today = services.today()
    status = WorkItemStatus.PAUSED if request.GET.get("status") == "paused" else WorkItemStatus.OPEN
    light = request.GET.get("light", "")
    light = light if light in Light.values else ""
    number = request.GET.get("number", "").strip()[:64]
    mine = request.GET.get("mine") == "1"

    def tasks(status: str) -> Any:
        return work.inbox(
            subject=subject,
            today=today,
            status=status,
            mine=mine,
            light=light or None,
            number=number or None,
        ).select_related("department", "assignee")

    rows = tasks(status)
    if number and status == WorkItemStatus.OPEN and not rows.exists():
        # Opened by number: a case whose clock is stopped is still found.
        paused = tasks(WorkItemStatus.PAUSED)
        if paused.exists():
            rows, status = paused, WorkItemStatus.PAUSED
    page = Paginator(rows, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "casework/workbench.html",
        {
            "page": page,
            "rows": _task_rows(page.object_list, today),
            "status": status,
            "light": light,
            "number": number,
            "mine": mine,
            "lights": [(value, LIGHT_TEXT[value]) for value in Light.values],
            "query_string": params.urlencode(),
            "is_head": "department_head" in subject.roles,
            "is_clerk": "window_clerk" in subject.roles,
        },
    )


@page_access(STAFF, roles=["department_head"])
@require_GET
def workbench_overdue(request: HttpRequest) -> HttpResponse:
    """督办: every overdue item of the head's department, whatever its role."""
    today = services.today()
    rows = work.overdue(subject=_subject(request), today=today).select_related(
        "department", "assignee"
    )
    page = Paginator(rows, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "casework/overdue.html",
        {"page": page, "rows": _task_rows(page.object_list, today), "query_string": ""},
    )


FORMS = ("claim", "release", "step", "supplement", "suspend", "resume", "extend")
LIFECYCLE_TEXT = {
    "claim": gettext_lazy("Claim"),
    "release": gettext_lazy("Release"),
    "supplement": gettext_lazy("Request a correction"),
    "suspend": gettext_lazy("Suspend"),
    "resume": gettext_lazy("Resume"),
    "extend": gettext_lazy("Ask to extend the time limit"),
}


def _task_context(
    request: HttpRequest,
    item: WorkItem,
    application: Application,
    *,
    posted_form: str = "",
    post: QueryDict | None = None,
    errors: forms.PageErrors | None = None,
) -> dict[str, Any]:
    subject = _subject(request)
    me = subject.user.pk if subject.user is not None else None
    schema = forms.schema_of(application)
    mine_to_act = item.role in subject.roles and item.assignee_id in (None, me)
    is_open = item.status == WorkItemStatus.OPEN
    step = item.kind == WorkItemKind.STEP
    errors = errors if errors is not None else forms.PageErrors()
    available = {
        "claim": is_open and item.role in subject.roles and item.assignee_id is None,
        "release": item.assignee_id == me and item.status in ("open", "paused"),
        "step": is_open and mine_to_act and bool(item.actions),
        "supplement": is_open
        and mine_to_act
        and step
        and "supplement" in item.lifecycle
        and not application.supplements.exists(),
        "suspend": is_open and mine_to_act and step and "suspend" in item.lifecycle,
        "extend": is_open
        and mine_to_act
        and step
        and "extend" in item.lifecycle
        and not application.extensions.exists(),
        "resume": item.status == WorkItemStatus.PAUSED
        and mine_to_act
        and application.status == Status.SUSPENDED,
    }
    choices = forms.supplement_choices(
        application, schema, post if posted_form == "supplement" else None, errors
    )
    names = {c[anchor]: c["name"] for c in choices for anchor in ("id", "reason_id")}
    # The summary names the item each problem is about; next to the item it goes without.
    errors.summary = [
        (anchor, f"{names[anchor]}：{text}" if anchor in names else text)
        for anchor, text in errors.summary
    ]
    values = {name: "" for name in FORMS}
    if post is not None and posted_form in values:
        values[posted_form] = post.get("opinion", "")
    return {
        "item": item,
        "application": application,
        "light": item.light(services.today()),
        "answers": forms.answer_rows(application, schema, change_links=False, masked=True),
        "materials": selectors.materials(application=application),
        "licenses_used": selectors.licenses_used(application=application),
        "seal": services.seal_check(application),
        "timeline": _timeline_rows(selectors.timeline(application=application, staff=True)),
        "forms": available,
        "opinions": values,
        "opinion_required": [a["label"] for a in item.actions if a.get("opinion") == "required"],
        "supplement_choices": choices,
        "suspension_reasons": SuspensionReason.choices,
        "suspension_reason": post.get("reason", "") if post is not None else "",
        "posted_form": posted_form,
        "errors": errors,
        "claimed_by_other": item.assignee_id not in (None, me),
        "lifecycle_text": LIFECYCLE_TEXT,
        "part_of": selectors.bundle_number(application),
    }


@page_access(STAFF, roles=CASEWORK_ROLES)
def task(request: HttpRequest, item_id: int) -> HttpResponse:
    """One task (待办): the application, its timeline, and the forms to act on it."""
    subject = _subject(request)
    try:
        item = work.item_visible(subject=subject, item_id=item_id)
        application = selectors.application_visible(
            subject=subject, public_id=item.case_number, purpose="handling"
        )
    except ApiError:
        raise Http404 from None
    if request.method != "POST":
        return render(request, "casework/task.html", _task_context(request, item, application))
    post = request.POST
    form = post.get("form", "")
    action = post.get("action", "") if form == "step" else form
    errors = forms.PageErrors()
    status = 422
    items: list[dict[str, str]] | None = None
    if form == "supplement":
        items = forms.supplement_items(post, errors)
    if form not in FORMS or not action:
        errors.message = _("Choose an action.")
    if not errors:
        try:
            result = services.task_act(
                subject=subject,
                item_id=item.pk,
                action=action,
                version=_int(post.get("version")),
                opinion=post.get("opinion", ""),
                items=[{"key": i["key"], "reason": i["reason"]} for i in items or []]
                if form == "supplement"
                else None,
                reason=post.get("reason", ""),
            )
        except ApiError as error:
            if form == "supplement":
                anchor_for = forms.supplement_anchor(items or [])
            else:
                anchor_for = lambda name: (  # noqa: E731
                    f"{form}-{name}" if name in ("opinion", "reason") else ""
                )
            errors = forms.page_errors(error, anchor_for)
            status = forms.status_for(error)
            if error.error.code == TASK_VERSION_CONFLICT.code:
                errors.message += " " + _(
                    "Nothing was changed. The task is shown again as it is now; what you typed "
                    "is kept."
                )
        else:
            label = next(
                (a["label"] for a in item.actions if a["name"] == action),
                LIFECYCLE_TEXT.get(action, action),
            )
            messages.success(
                request,
                _("%(action)s: done for application %(number)s.")
                % {"action": label, "number": item.case_number},
            )
            if result.item.status in (WorkItemStatus.OPEN, WorkItemStatus.PAUSED):
                return HttpResponseRedirect(reverse("casework:task", args=[item.pk]))
            return HttpResponseRedirect(reverse("casework:workbench"))
    else:
        errors.message = errors.message or _("Nothing was sent. Correct the items below.")
    item.refresh_from_db()
    application.refresh_from_db()
    context = _task_context(request, item, application, posted_form=form, post=post, errors=errors)
    return render(request, "casework/task.html", context, status=status)


@page_access(STAFF, roles=["window_clerk"])
def file_for_citizen(request: HttpRequest) -> HttpResponse:
    """帮办代办: a window clerk starts a draft for a registered citizen found by ID number."""
    items = [
        i
        for i in catalog_selectors.published_items().order_by("department__code", "key")
        if i.serves_individuals and i.published and i.published[0].online  # type: ignore[attr-defined]
    ]
    groups: dict[str, list[Any]] = {}
    for i in items:
        groups.setdefault(i.department.name, []).append(i)
    service = request.POST.get("service", "") or request.GET.get("service", "")
    id_number = request.POST.get("citizen_id_number", "")
    errors = forms.PageErrors()
    if request.method == "POST":
        if not service:
            errors.add("service", _("Choose the service."))
        if not id_number.strip():
            errors.add("citizen_id_number", _("Enter the citizen's ID number."))
        if errors:
            errors.message = _("Nothing was started. Correct the items below.")
        else:
            try:
                application = services.application_create(
                    subject=_subject(request),
                    service_code=service,
                    citizen_id_number=id_number.strip(),
                )
            except ApiError as error:
                errors = forms.page_errors(
                    error,
                    lambda name: {
                        "service_code": "service",
                        "citizen_id_number": "citizen_id_number",
                    }.get(name, ""),
                )
            else:
                messages.success(
                    request,
                    _(
                        "A draft is started for the citizen. Fill it in with them, then check and "
                        "submit it."
                    ),
                )
                return HttpResponseRedirect(reverse("casework:edit", args=[application.public_id]))
    return render(
        request,
        "casework/file.html",
        {
            "groups": groups,
            "service": service,
            "id_number": id_number,
            "errors": errors,
        },
        status=422 if errors else 200,
    )
