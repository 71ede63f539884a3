"""Bundle applications (一件事一次办): one form, one number, a part per department.

A bundle application is an ``Application`` of a bundle item (``catalog.bundles``): the applicant
fills its merged form and uploads each material once, exactly like any draft. On submission:

1. the pre-check (预审) reads the applicant's own records in the department datasets the
   bundle names and lists **every** blocking matter at once (``BUNDLE_PRECHECK_FAILED``);
2. the bundle gets its number and is accepted for the one-window (一窗受理): each member item
   whose ``after`` members are done becomes a part (子件) — an ``Application`` of that item
   with ``parent`` set, number ``{bundle}-{nn}``, its answers and files taken from the
   bundle's, sealed, and its own process started past acceptance, so its department's work
   items exist at once; the others wait and are started when what they wait for is approved;
3. every change of a part (``part_changed``, called in the same transaction) brings the
   bundle up to date: its status sums up the parts, a correction (补正) asked by any part puts
   the bundle into correction with every part's list gathered, and when every part has ended
   the bundle ends with one notification naming all results;
4. a refused part (不予许可/不予受理) ends the bundle as configured: ``return_all`` stops the
   other parts (整件退回, done by the outbox consumer ``casework.bundle`` so each part is locked
   in the usual order) or ``continue`` lets them finish (the bundle then ends partly granted).

Parts never notify the applicant on their own (``services._event``); the bundle does.
Locks: a part's process instance and row before the bundle's row, always.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.casework import errors
from onewindow.casework import services as cs
from onewindow.casework.models import (
    OPEN_STATUSES,
    Application,
    MaterialFile,
    Status,
    Supplement,
)
from onewindow.catalog.bundles import RETURN_ALL
from onewindow.catalog.models import ServiceItem, ServiceVersion
from onewindow.catalog.schema import parse_schema, validate_answers
from onewindow.datahub import autofill
from onewindow.events.services import emit_many
from onewindow.identity.access import Subject
from onewindow.identity.models import Enterprise, User
from onewindow.kit.errors import ApiError, FieldError
from onewindow.kit.expressions import ExpressionError, compile_expression
from onewindow.org.selectors import platform_province_prefixes
from onewindow.workflow import services as workflow
from onewindow.workflow.calendar import deadline
from onewindow.workflow.models import ProcessInstance, WorkItem

PRECHECK_PURPOSE = "一件事预审（本人数据）"
REFUSED = (Status.REJECTED, Status.NOT_ACCEPTED, Status.TERMINATED)
ENDED = (Status.COMPLETED, *REFUSED)
PLACEHOLDER_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
WAITING_LABELS = {
    "waiting": gettext_lazy("waiting for an earlier part (等待前序事项办结)"),
    "not_started": gettext_lazy("not started (前序事项未获准予，不再办理)"),
}


def spec(application: Application) -> dict[str, Any]:
    return dict(application.service_version.bundle or {})


def _members(application: Application) -> list[dict[str, Any]]:
    return list(spec(application).get("members") or [])


# --- the pre-check (预审) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Blocking:
    """One matter the applicant must settle first, with the department that holds the data."""

    key: str
    dataset: str
    department_name: str
    message: str
    advice: str


def _fill(template: str, values: Mapping[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1))
        return "" if found is None else str(found)

    return PLACEHOLDER_RE.sub(value, template)


def precheck(
    *,
    subject: Subject | None,
    version: ServiceVersion,
    applicant: User,
    enterprise: Enterprise | None,
) -> list[Blocking]:
    """Every rule of the bundle evaluated against the applicant's own records (each read
    logged for them): the list of everything that blocks submission, empty when none."""
    rules = list((version.bundle or {}).get("prechecks") or [])
    if not rules:
        return []
    records = autofill.own_records(
        reader=subject,
        applicant=applicant,
        enterprise=enterprise,
        datasets=sorted({str(r["dataset"]) for r in rules}),
        purpose=PRECHECK_PURPOSE,
    )
    found: list[Blocking] = []
    for rule in rules:
        record = records.get(str(rule["dataset"]))
        if record is None:
            found.append(
                Blocking(
                    key=rule["key"],
                    dataset=rule["dataset"],
                    department_name="",
                    message=_("The pre-check could not read %(dataset)s.")
                    % {"dataset": rule["dataset"]},
                    advice=_("Please apply at the service centre's window."),
                )
            )
            continue
        if record.values is None:
            continue  # no record: nothing owed, nothing open
        try:
            blocked = bool(compile_expression(rule["blocks_if"]).evaluate(record.values))
        except ExpressionError:
            blocked = True
        if blocked:
            found.append(
                Blocking(
                    key=rule["key"],
                    dataset=record.dataset,
                    department_name=record.owner,
                    message=_fill(str(rule["message"]), record.values),
                    advice=_fill(str(rule.get("advice") or ""), record.values),
                )
            )
    return found


def precheck_or_raise(subject: Subject, application: Application) -> None:
    """Before a bundle is submitted, in its own transaction (the reads stay logged even when
    the submission is refused): raise with every blocking matter listed."""
    blocking = precheck(
        subject=subject,
        version=application.service_version,
        applicant=application.applicant,
        enterprise=application.enterprise,
    )
    if blocking:
        raise ApiError(errors.BUNDLE_PRECHECK_FAILED, details=precheck_errors(blocking))


def service_precheck(*, subject: Subject, service_code: str) -> list[Blocking]:
    """The pre-check of a bundle for the subject (themself, or the enterprise they act for),
    before anything is filled in."""
    item, version = cs._published(service_code)
    if subject.user is None:
        raise ApiError(errors.SERVICE_NOT_AVAILABLE)
    cs.may_apply(item, subject.user, subject.acting_for)
    return precheck(
        subject=subject, version=version, applicant=subject.user, enterprise=subject.acting_for
    )


def precheck_errors(blocking: list[Blocking]) -> list[FieldError]:
    return [
        FieldError(
            f"precheck.{b.key}",
            "blocked",
            f"{b.message}（{b.department_name}）{b.advice}" if b.department_name else b.message,
        )
        for b in blocking
    ]


# --- submission and parts ----------------------------------------------------------------------


def submit(
    subject: Subject,
    locked: Application,
    cleaned: dict[str, Any],
    sources: cs.LicenseSources,
    files: Mapping[str, tuple[int, str]],
    day: dt.date,
) -> Application:
    """Number and accept the bundle, start every part that waits for nothing (in the
    submitting transaction of ``services.application_submit``)."""
    now = timezone.now()
    locked.number = cs._next_number(locked.service_item, day)
    locked.form_data = cleaned
    locked.status = Status.IN_REVIEW
    locked.submitted_at = locked.accepted_at = now
    locked.accepted_on = day
    locked.process_key = "bundle"
    locked.limit_days = locked.service_version.promised_limit_days
    due = deadline(day, locked.limit_days)
    locked.due_date, locked.provisional = due.due_date, due.provisional
    locked.version += 1
    locked.save()
    used = cs._licenses_used(sources)
    extra: dict[str, Any] = {"licenses": used} if used else {}
    cs._timeline(locked, "submitted", counter=locked.channel == cs.Channel.COUNTER, **extra)
    cs._seal(locked, "submitted", files, used)
    started = [
        _start_part(locked, index, member, day)
        for index, member in enumerate(_members(locked), start=1)
        if not member.get("after")
    ]
    cs._timeline(
        locked,
        "bundle_dispatched",
        due_date=due.due_date.isoformat(),
        parts=[{"number": p.number, "service_name": p.service_name} for p, _i in started],
    )
    emit_many(
        [
            cs._event("application.submitted", locked),
            cs._event("application.accepted", locked, due_date=due.due_date.isoformat()),
        ]
    )
    audit_record(
        actor=subject.label,
        action="casework.submit",
        object_type="casework.application",
        object_id=locked.number,
        object_repr=locked.service_name,
        detail={"bundle": True, "parts": [p.number for p, _i in started]},
    )
    return locked


def _member_version(member: Mapping[str, Any]) -> ServiceVersion:
    version = (
        ServiceVersion.objects.select_related("item__department")
        .filter(item__key=member["item"], number=member["version"])
        .first()
    )
    if version is None:
        raise ApiError(errors.BUNDLE_OUT_OF_DATE)
    return version


def _part_answers(
    parent: Application, member: Mapping[str, Any], version: ServiceVersion
) -> dict[str, Any]:
    """The part's answers taken from the bundle's, checked against the part's own form; a
    problem is reported on the bundle's field (where the applicant can mend it)."""
    answers = {
        own: parent.form_data[merged]
        for own, merged in member["fields"].items()
        if merged in parent.form_data
    }
    schema, _problems = parse_schema(version.form_schema)
    cleaned, problems = validate_answers(
        schema, answers, extra_provinces=platform_province_prefixes()
    )
    if problems:
        raise ApiError(
            errors.APPLICATION_INCOMPLETE,
            details=[
                FieldError(f"form_data.{member['fields'].get(p.field, p.field)}", p.code, p.message)
                for p in problems
            ],
        )
    return cs._jsonable(cleaned)


def _copy_files(parent: Application, part: Application, member: Mapping[str, Any]) -> None:
    """Each of the part's materials from the bundle's current file (the stored file is shared:
    names are content-derived and nothing is ever overwritten). A changed file becomes a new
    version of the part's material."""
    wanted = {merged: own for own, merged in member["materials"].items()}
    names = {m.key: m.name for m in cs._materials_for(part.service_version_id)}
    have = {
        row.material_key: row for row in MaterialFile.objects.filter(application=part, current=True)
    }
    for row in MaterialFile.objects.filter(application=parent, current=True):
        own = wanted.get(row.material_key)
        if own is None:
            continue
        old = have.get(own)
        if old is not None and old.sm3 == row.sm3:
            continue
        if old is not None:
            MaterialFile.objects.filter(pk=old.pk).update(current=False)
        MaterialFile.objects.create(
            application=part,
            material_key=own,
            material_name=names.get(own, row.material_name),
            version=(old.version + 1) if old is not None else 1,
            current=True,
            file=row.file.name,
            original_name=row.original_name,
            content_type=row.content_type,
            size=row.size,
            sm3=row.sm3,
            scan_status=row.scan_status,
            uploaded_by_id=row.uploaded_by_id,
        )


def _start_part(
    parent: Application, index: int, member: Mapping[str, Any], day: dt.date
) -> tuple[Application, list[WorkItem]]:
    """Create, seal and start one part; its process begins past acceptance (the bundle was
    accepted as a whole), so the department's first work item exists at once."""
    version = _member_version(member)
    item: ServiceItem = version.item
    part = Application(
        service_item=item,
        service_version=version,
        service_name=item.name,
        department=item.department,
        applicant_id=parent.applicant_id,
        enterprise_id=parent.enterprise_id,
        filed_by_id=parent.filed_by_id,
        channel=parent.channel,
        parent=parent,
        form_data=_part_answers(parent, member, version),
        status=Status.SUBMITTED,
        submitted_at=timezone.now(),
        number=f"{parent.number}-{index:02d}",
    )
    definition = cs._process_for(part)
    part.process_key = f"{definition.key}@{definition.version}"
    part.save()
    sources, files = _take_from_bundle(parent, part, member)
    used = cs._licenses_used(sources)
    extra: dict[str, Any] = {"licenses": used} if used else {}
    cs._timeline(part, "submitted", part_of=parent.number, **extra)
    cs._seal(part, "submitted", files, used)
    outcome = workflow.process_start(
        case_number=str(part.number),
        definition_row=definition,
        owner_department=part.department,
        service_name=part.service_name,
        variables=part.form_data,
        today=day,
    )
    created = _accept_with_bundle(part, outcome, day)
    part.version += 1
    part.save()
    return part, created


def _take_from_bundle(
    parent: Application, part: Application, member: Mapping[str, Any]
) -> tuple[cs.LicenseSources, dict[str, tuple[int, str]]]:
    """The bundle's current files onto the part, then the part checked complete by its own
    rules (a problem is reported on the bundle's field or material). Returns the part's
    license sources and current files, as its seal needs them."""
    _copy_files(parent, part, member)
    sources = cs.license_sources(part)
    files = cs.current_files(part)
    _cleaned, problems = cs.application_problems(part, sources, files)
    if problems:
        raise ApiError(
            errors.APPLICATION_INCOMPLETE,
            details=[_on_bundle(p, member) for p in problems],
        )
    return sources, files


def _on_bundle(problem: FieldError, member: Mapping[str, Any]) -> FieldError:
    kind, _dot, key = problem.field.partition(".")
    table = member["fields"] if kind == "form_data" else member["materials"]
    return FieldError(f"{kind}.{table.get(key, key)}", problem.code, problem.message)


def _accept_with_bundle(part: Application, outcome: Any, day: dt.date) -> list[WorkItem]:
    """Take the acceptance action of the part's first step for the platform: the bundle was
    checked complete and accepted once, at its window (一窗受理)."""
    created: list[WorkItem] = []
    instance = outcome.instance
    definition = workflow.parsed_definition(instance.definition)
    for item in outcome.created:
        action = next(
            (a.name for a in definition.step(item.step).actions.values() if a.effect == "accept"),
            None,
        )
        if action is None:
            created.append(item)
            cs._announce_items([item])
            continue
        created += cs._engine_action(
            None,
            instance,
            item,
            part,
            action,
            _("Accepted with the bundle %(number)s (一件事一窗受理).")
            % {"number": str(part.number).rsplit("-", 1)[0]},
            day,
        )
    return created


# --- keeping the bundle up to date --------------------------------------------------------------


@dataclass
class PartState:
    """One member of a bundle as the applicant sees it: its part once started."""

    member: dict[str, Any]
    part: Application | None
    state: str  # a part's status, or waiting / not_started
    waiting_for: list[str] = field(default_factory=list)


def _approved(part: Application) -> bool:
    return part.timeline.filter(kind="approved").exists()


def _refused(part: Application) -> bool:
    if part.status in REFUSED:
        return True
    return part.status == Status.COMPLETED and not _approved(part)


def states(parent: Application, parts: list[Application] | None = None) -> list[PartState]:
    """Each member's state: its part's status; ``waiting`` for members whose ``after`` are
    not approved yet; ``not_started`` when one of those was refused or stopped."""
    if parts is None:
        parts = list(parent.parts.select_related("department", "service_item"))
    by_item = {p.service_item.key: p for p in parts}
    names = {m["item"]: m["name"] for m in _members(parent)}
    found: list[PartState] = []
    unstartable: set[str] = set()  # refused, stopped, or waiting for such a member
    for member in _members(parent):
        part = by_item.get(member["item"])
        if part is not None:
            found.append(PartState(member, part, part.status))
            if _refused(part):
                unstartable.add(member["item"])
            continue
        after = member.get("after") or []
        if unstartable & set(after) or parent.status in ENDED:
            state = "not_started"
            unstartable.add(member["item"])
        else:
            state = "waiting"
        found.append(PartState(member, None, state, [names.get(k, k) for k in after]))
    return found


def part_changed(part: Application, day: dt.date, action: str = "") -> list[WorkItem]:
    """After ``action`` on ``part`` (same transaction, part locked): start the members that
    were waiting for it, and bring its bundle up to date. Returns the work items created."""
    parent = Application.objects.select_for_update().get(pk=int(part.parent_id or 0))
    created: list[WorkItem] = []
    if parent.status not in ENDED and part.status in (Status.APPROVED, Status.COMPLETED):
        created = _start_ready(parent, day)
    _refresh(parent, day, requested=part if action == "supplement" else None)
    return created


def _start_ready(parent: Application, day: dt.date) -> list[WorkItem]:
    parts = {p.service_item.key: p for p in parent.parts.select_related("service_item")}
    created: list[WorkItem] = []
    for index, member in enumerate(_members(parent), start=1):
        after = member.get("after") or []
        if member["item"] in parts or not after:
            continue
        before = [parts.get(k) for k in after]
        if all(
            p is not None and p.status in (Status.APPROVED, Status.COMPLETED) and _approved(p)
            for p in before
        ):
            part, items = _start_part(parent, index, member, day)
            parts[member["item"]] = part
            created += items
            cs._timeline(
                parent, "bundle_part_started", number=part.number, service_name=part.service_name
            )
    return created


def _refresh(parent: Application, day: dt.date, requested: Application | None = None) -> None:
    """The bundle's status from its parts' (the bundle row is locked by the caller); when a
    part has just ``requested`` a correction, the applicant is told the gathered list."""
    current = states(parent)
    parts = [s.part for s in current if s.part is not None]
    correcting = [p for p in parts if p.status == Status.SUPPLEMENT]
    ended = all(s.state in (*ENDED, "not_started") for s in current)
    now = timezone.now()
    if ended:
        refused = [p for p in parts if _refused(p)]
        granted = [p for p in parts if not _refused(p)]
        returned = bool(refused) and spec(parent).get("on_rejection") == RETURN_ALL
        if returned or not granted:
            parent.status = Status.REJECTED
        else:
            parent.status = Status.COMPLETED
        parent.decided_at = parent.completed_at = now
        parent.due_date = None
        parent.outcome_reason = "；".join(
            f"{p.service_name}：{p.outcome_reason or p.get_status_display()}" for p in refused
        )
        parent.version += 1
        parent.save()
        results = [p.service_name for p in granted]
        cs._timeline(
            parent,
            "bundle_returned" if returned else "completed",
            public=True,
            opinion=parent.outcome_reason,
            granted=results,
            refused=[p.service_name for p in refused],
        )
        emit_many(
            [
                cs._event(
                    "application.rejected"
                    if parent.status == Status.REJECTED
                    else "application.completed",
                    parent,
                    reason=parent.outcome_reason,
                    results=results,
                )
            ]
        )
        return
    if correcting and parent.status != Status.SUPPLEMENT:
        cs._pause_clock(parent, day, Status.SUPPLEMENT)
    elif not correcting and parent.status == Status.SUPPLEMENT:
        cs._resume_clock(parent, day)
    parent.version += 1
    parent.save()
    if requested is not None and requested.status == Status.SUPPLEMENT:
        items = supplement_items(parent, parts=correcting)
        cs._timeline(
            parent,
            "supplement_requested",
            public=True,
            items=items,
            part=requested.number,
            service_name=requested.service_name,
        )
        emit_many(
            [
                cs._event(
                    "application.supplement_requested",
                    parent,
                    suffix=str(requested.number),
                    items=[i["name"] for i in items],
                )
            ]
        )


def supplement_items(
    parent: Application, parts: list[Application] | None = None
) -> list[dict[str, str]]:
    """Everything the parts in correction ask for, on the bundle's own fields and materials
    (asked once even when two parts ask for the same thing), each saying which part asks."""
    if parts is None:
        parts = list(parent.parts.filter(status=Status.SUPPLEMENT).select_related("service_item"))
    members = {m["item"]: m for m in _members(parent)}
    gathered: dict[tuple[str, str], dict[str, str]] = {}
    open_requests = Supplement.objects.filter(
        application__in=parts, returned_at__isnull=True
    ).select_related("application__service_item")
    for supplement in open_requests:
        member = members[supplement.application.service_item.key]
        for entry in supplement.items:
            table = member["fields"] if entry["kind"] == "field" else member["materials"]
            key = table.get(entry["key"], entry["key"])
            row = gathered.setdefault(
                (entry["kind"], key),
                {
                    "kind": entry["kind"],
                    "key": key,
                    "name": entry["name"],
                    "reason": "",
                    "parts": "",
                },
            )
            name = supplement.application.service_name
            row["reason"] = "；".join(filter(None, [row["reason"], f"{name}：{entry['reason']}"]))
            row["parts"] = "、".join(filter(None, [row["parts"], name]))
    return list(gathered.values())


def supplement_return(*, subject: Subject, application: Application) -> Application:
    """The applicant returns the corrections of every part at once: each part in correction
    gets the bundle's corrected answers and files, is sealed again and its clock restarts."""
    day = cs.today()
    with transaction.atomic():
        numbers = list(
            application.parts.filter(status=Status.SUPPLEMENT)
            .order_by("number")
            .values_list("number", flat=True)
        )
        instances = {
            i.case_number: i
            for i in ProcessInstance.objects.select_for_update()
            .filter(case_number__in=numbers)
            .order_by("case_number")
        }
        parts = list(
            Application.objects.select_for_update(of=("self",))
            .select_related("service_item", "service_version")
            .filter(number__in=numbers)
            .order_by("number")
        )
        locked = cs._locked_application(application.pk)
        if locked.status != Status.SUPPLEMENT:
            raise ApiError(errors.APPLICATION_NOT_EDITABLE)
        sources = cs.license_sources(locked)
        files = cs.current_files(locked)
        cleaned, problems = cs.application_problems(locked, sources, files)
        if problems:
            raise ApiError(errors.APPLICATION_INCOMPLETE, details=problems)
        locked.form_data = cleaned
        members = {m["item"]: m for m in _members(locked)}
        for part in parts:
            member = members[part.service_item.key]
            part.form_data = _part_answers(locked, member, part.service_version)
            part_sources, part_files = _take_from_bundle(locked, part, member)
            supplement = part.supplements.get(returned_at__isnull=True)
            supplement.returned_at = timezone.now()
            supplement.save(update_fields=["returned_at"])
            cs._resume_clock(part, day)
            part.version += 1
            part.save()
            workflow.instance_resume(instance=instances[str(part.number)], today=day)
            cs._timeline(part, "supplement_returned")
            cs._seal(part, "supplement_returned", part_files, cs._licenses_used(part_sources))
            emit_many(
                [
                    cs._event(
                        "application.supplement_returned",
                        part,
                        recipients=[supplement.requested_by_id],
                    )
                ]
            )
        cs._resume_clock(locked, day)
        locked.version += 1
        locked.save()
        cs._timeline(locked, "supplement_returned", parts=[p.number for p in parts])
        cs._seal(locked, "supplement_returned", files, cs._licenses_used(sources))
        audit_record(
            actor=subject.label,
            action="casework.supplement_return",
            object_type="casework.application",
            object_id=locked.number or "",
            detail={"parts": [p.number for p in parts]},
        )
    return locked


# --- a refused part ends the bundle (整件退回) ----------------------------------------------------


def part_refused(*, number: str) -> int:
    """Run by the outbox consumer after a part is refused: under ``return_all`` every other
    open part of its bundle stops (work items cancelled, the applicant told once, by the
    bundle). Returns how many parts were stopped."""
    part = Application.objects.filter(number=number, parent__isnull=False).first()
    if part is None:
        return 0
    parent = Application.objects.select_related("service_version").get(pk=int(part.parent_id or 0))
    if spec(parent).get("on_rejection") != RETURN_ALL:
        return 0
    day = cs.today()
    stopped = 0
    with transaction.atomic():
        siblings = list(
            parent.parts.filter(status__in=OPEN_STATUSES).exclude(pk=part.pk).order_by("number")
        )
        instances = {
            i.case_number: i
            for i in ProcessInstance.objects.select_for_update()
            .filter(case_number__in=[s.number for s in siblings])
            .order_by("case_number")
        }
        for sibling in siblings:
            locked = Application.objects.select_for_update().get(pk=sibling.pk)
            if locked.status not in OPEN_STATUSES:
                continue
            instance = instances.get(locked.number or "")
            if instance is not None:
                workflow.instance_cancel(instance=instance)
            reason = _("Stopped: %(service)s was refused and the bundle returns as a whole.") % {
                "service": part.service_name
            }
            locked.status = Status.TERMINATED
            locked.outcome_reason = reason
            locked.decided_at = timezone.now()
            locked.due_date = None
            locked.version += 1
            locked.save()
            cs._timeline(locked, "terminated", opinion=reason, public=True)
            stopped += 1
        locked_parent = Application.objects.select_for_update().get(pk=parent.pk)
        if locked_parent.status not in ENDED:
            _refresh(locked_parent, day)
        audit_record(
            actor=SYSTEM_ACTOR,
            action="casework.bundle.return_all",
            object_type="casework.application",
            object_id=parent.number or "",
            detail={"refused": number, "stopped": stopped},
        )
    return stopped
