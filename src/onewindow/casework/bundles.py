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
    wanted: dict[str, set[str]] = {}
    for rule in rules:  # only the fields the rules look at or show are read
        names = wanted.setdefault(str(rule["dataset"]), set())
        names |= {n.split(".")[0] for n in compile_expression(rule["blocks_if"]).names}
        for text in (rule["message"], rule.get("advice") or ""):
            names |= set(PLACEHOLDER_RE.findall(str(text)))
    records = autofill.own_records(
        reader=subject,
        applicant=applicant,
        enterprise=enterprise,
        datasets=wanted,
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


def _mapped_answers(
    parent: Application, member: Mapping[str, Any], version: ServiceVersion
) -> tuple[dict[str, Any], list[Any]]:
    """The part's answers taken from the bundle's, cleaned by the part's own form."""
    answers = {
        own: parent.form_data[merged]
        for own, merged in member["fields"].items()
        if merged in parent.form_data
    }
    schema, _problems = parse_schema(version.form_schema)
    cleaned, problems = validate_answers(
        schema, answers, extra_provinces=platform_province_prefixes()
    )
    return cs._jsonable(cleaned), problems


def _part_answers(
    parent: Application, member: Mapping[str, Any], version: ServiceVersion
) -> dict[str, Any]:
    """The part's answers, or every problem reported on the bundle's field (where the
    applicant can mend it)."""
    cleaned, problems = _mapped_answers(parent, member, version)
    if problems:
        raise ApiError(
            errors.APPLICATION_INCOMPLETE,
            details=[
                FieldError(f"form_data.{member['fields'].get(p.field, p.field)}", p.code, p.message)
                for p in problems
            ],
        )
    return cleaned


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
    state: str  # a part's status (rejected for a delivered refusal), or waiting / not_started
    waiting_for: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.state in WAITING_LABELS:
            return str(WAITING_LABELS[self.state])
        return str(Status(self.state).label)

    @property
    def refused(self) -> bool:
        return self.state in REFUSED


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
            refused = _refused(part)
            # A refusal ends "completed" once delivered: the applicant is shown the refusal.
            state = Status.REJECTED if refused and part.status == Status.COMPLETED else part.status
            found.append(PartState(member, part, state))
            if refused:
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


# What a part's action means for its bundle's applicant (the part itself tells nobody).
PASSED_ON = {
    "suspend": ("part_suspended", "application.suspended"),
    "resume": ("part_resumed", "application.resumed"),
    "extended": ("part_extended", "application.extended"),
}


def part_changed(part: Application, day: dt.date, action: str = "") -> list[WorkItem]:
    """After ``action`` on ``part`` (same transaction, part locked): start the members that
    were waiting for it, and bring its bundle up to date. Returns the work items created.
    ``action`` is the step action, or ``extended`` when the head approved an extension."""
    parent = Application.objects.select_for_update().get(pk=int(part.parent_id or 0))
    if parent.status in ENDED:
        return []  # e.g. the refusal's delivery after the bundle was returned: nothing to add
    created: list[WorkItem] = []
    # Waiting members start from the bundle's submitted answers and files: while the
    # applicant corrects the bundle they may be half edited, so they start on its return.
    if parent.status != Status.SUPPLEMENT and part.status in (Status.APPROVED, Status.COMPLETED):
        created = _start_ready(parent, day)
    if action in PASSED_ON:
        _pass_on(parent, part, action)
    _refresh(parent, day, requested=part if action == "supplement" else None)
    return created


def _pass_on(parent: Application, part: Application, action: str) -> None:
    """A part's suspension (中止), resumption or extension (延期) is the applicant's business:
    the bundle's timeline says so, with the part's reason and due date, and tells them."""
    kind, event = PASSED_ON[action]
    due = part.due_date.isoformat() if part.due_date else ""
    last = part.timeline.filter(opinion_public=True).order_by("-at", "-id").first()
    reason = last.opinion if last is not None else ""
    cs._timeline(
        parent,
        kind,
        public=True,
        opinion=reason,
        part=part.number,
        service_name=part.service_name,
        due_date=due,
    )
    emit_many(
        [
            cs._event(
                event,
                parent,
                suffix=f"{part.number}:{part.version}",
                reason=f"{part.service_name}：{reason}" if reason else part.service_name,
                due_date=due,
            )
        ]
    )


def _start_ready(parent: Application, day: dt.date) -> list[WorkItem]:
    parts = {p.service_item.key: p for p in parent.parts.select_related("service_item")}
    if spec(parent).get("on_rejection") == RETURN_ALL and any(_refused(p) for p in parts.values()):
        return []  # the bundle is being returned as a whole: nothing new starts
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
    part has just ``requested`` a correction, the applicant is told the gathered list. The
    bundle's version moves only when what the applicant sees of it changes."""
    current = states(parent)
    parts = [s.part for s in current if s.part is not None]
    correcting = [p for p in parts if p.status == Status.SUPPLEMENT]
    if all(s.state in (*ENDED, "not_started") for s in current):
        _end(parent, current)
        return
    before = (parent.status, parent.due_date)
    if correcting and parent.status != Status.SUPPLEMENT:
        cs._pause_clock(parent, day, Status.SUPPLEMENT)
    elif not correcting and parent.status == Status.SUPPLEMENT:
        cs._resume_clock(parent, day)
    # The bundle is due when its last open part is (an extension of a part moves it).
    open_due = [p.due_date for p in parts if p.status in OPEN_STATUSES and p.due_date]
    if parent.due_date is not None and open_due and max(open_due) > parent.due_date:
        parent.due_date = max(open_due)
    if (parent.status, parent.due_date) != before:
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


def _end(parent: Application, current: list[PartState]) -> None:
    """Every member has ended: the bundle ends once, with one message naming the results."""
    parts = [s.part for s in current if s.part is not None]
    refused = [p for p in parts if _refused(p)]
    granted = [p for p in parts if not _refused(p)]
    unstarted = [s.member["name"] for s in current if s.part is None]
    returned = bool(refused) and spec(parent).get("on_rejection") == RETURN_ALL
    parent.status = Status.REJECTED if returned or not granted else Status.COMPLETED
    parent.decided_at = parent.completed_at = timezone.now()
    parent.due_date = None
    reasons = [f"{p.service_name}：{p.outcome_reason or p.get_status_display()}" for p in refused]
    if unstarted:
        reasons.append(_("not started: %(names)s") % {"names": "、".join(unstarted)})
    parent.outcome_reason = "；".join(reasons)
    parent.version += 1
    parent.save()
    results = [p.service_name for p in granted]
    kind = "completed" if parent.status == Status.COMPLETED else "bundle_returned"
    cs._timeline(
        parent,
        kind,
        public=True,
        opinion=parent.outcome_reason,
        granted=results,
        refused=[p.service_name for p in refused],
    )
    event = "application.completed" if kind == "completed" else "application.rejected"
    emit_many([cs._event(event, parent, reason=parent.outcome_reason, results=results)])


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
    gets the bundle's corrected answers and files, is sealed again and its clock restarts. A
    corrected answer or file that other open parts use reaches them too (sealed again, noted
    on their timeline); a change nobody asked for is refused (补正 corrects what was asked)."""
    day = cs.today()
    with transaction.atomic():
        open_numbers = list(
            application.parts.filter(status__in=OPEN_STATUSES)
            .order_by("number")
            .values_list("number", "status")
        )
        numbers = [n for n, status in open_numbers if status == Status.SUPPLEMENT]
        instances = {
            i.case_number: i
            for i in ProcessInstance.objects.select_for_update()
            .filter(case_number__in=numbers)
            .order_by("case_number")
        }
        rows = list(
            Application.objects.select_for_update(of=("self",))
            .select_related("service_item", "service_version")
            .filter(number__in=[n for n, _status in open_numbers])
            .order_by("number")
        )
        parts = [p for p in rows if p.number in numbers]
        locked = cs._locked_application(application.pk)
        if locked.status != Status.SUPPLEMENT:
            raise ApiError(errors.APPLICATION_NOT_EDITABLE)
        asking = locked.parts.filter(status=Status.SUPPLEMENT).values_list("number", flat=True)
        if set(asking) != set(numbers) or any(p.status != Status.SUPPLEMENT for p in parts):
            # Another part asked for a correction since this return started: the applicant
            # sees the new list first (nothing was changed).
            raise ApiError(errors.APPLICATION_VERSION_CONFLICT)
        sources = cs.license_sources(locked)
        files = cs.current_files(locked)
        cleaned, problems = cs.application_problems(locked, sources, files)
        if problems:
            raise ApiError(errors.APPLICATION_INCOMPLETE, details=problems)
        locked.form_data = cleaned
        members = {m["item"]: m for m in _members(locked)}
        asked = {(i["kind"], i["key"]) for i in supplement_items(locked, parts=parts)}
        outside, reached = _changes_beyond(locked, members, {p.pk for p in parts}, asked)
        if outside:
            raise ApiError(errors.BUNDLE_CORRECTION_OUTSIDE_REQUEST, details=outside)
        for part in parts:
            part_sources, part_files = _renew_from_bundle(locked, part, members)
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
        for part in (p for p in rows if p.pk in reached):
            part_sources, part_files = _renew_from_bundle(locked, part, members)
            part.version += 1
            part.save()
            cs._timeline(
                part,
                "corrected_with_bundle",
                fields=reached[part.pk]["fields"],
                materials=reached[part.pk]["materials"],
            )
            cs._seal(part, "corrected_with_bundle", part_files, cs._licenses_used(part_sources))
        locked.version += 1
        locked.save()
        cs._timeline(locked, "supplement_returned", parts=[p.number for p in parts])
        cs._seal(locked, "supplement_returned", files, cs._licenses_used(sources))
        _refresh(locked, day)
        # Members whose earlier parts were approved during the correction start now, from
        # the answers just returned; and the cross-check runs again on them.
        if locked.status not in ENDED:
            _start_ready(locked, day)
        emit_many([cs._event("application.supplement_returned", locked, recipients=[])])
        audit_record(
            actor=subject.label,
            action="casework.supplement_return",
            object_type="casework.application",
            object_id=locked.number or "",
            detail={"parts": [p.number for p in parts], "also": sorted(reached)},
        )
    return locked


def _renew_from_bundle(
    parent: Application, part: Application, members: Mapping[str, Mapping[str, Any]]
) -> tuple[cs.LicenseSources, dict[str, tuple[int, str]]]:
    member = members[part.service_item.key]
    part.form_data = _part_answers(parent, member, part.service_version)
    return _take_from_bundle(parent, part, member)


def _changes_beyond(
    parent: Application,
    members: Mapping[str, Mapping[str, Any]],
    correcting: set[int],
    asked: set[tuple[str, str]],
) -> tuple[list[FieldError], dict[int, dict[str, list[str]]]]:
    """What the corrected bundle changes for the parts that are not in correction: a change
    that was asked for reaches the open parts that use it (returned: part id -> the fields and
    materials); one nobody asked for, or one reaching a part already decided, is a problem."""
    problems: dict[str, FieldError] = {}
    reached: dict[int, dict[str, list[str]]] = {}
    current = {
        row.material_key: row.sm3
        for row in MaterialFile.objects.filter(application=parent, current=True)
    }
    others = parent.parts.exclude(pk__in=correcting).select_related(
        "service_item", "service_version"
    )
    for part in others:
        member = members[part.service_item.key]
        answers, _problems = _mapped_answers(parent, member, part.service_version)
        changed = [
            ("field", member["fields"].get(own, own))
            for own in sorted(set(answers) | set(part.form_data))
            if answers.get(own) != part.form_data.get(own)
        ]
        theirs = dict(
            MaterialFile.objects.filter(application=part, current=True).values_list(
                "material_key", "sm3"
            )
        )
        changed += [
            ("material", merged)
            for own, merged in member["materials"].items()
            if own in theirs and current.get(merged) != theirs[own]
        ]
        for kind, merged in changed:
            if (kind, merged) in asked and part.status in OPEN_STATUSES:
                entry = reached.setdefault(part.pk, {"fields": [], "materials": []})
                entry["fields" if kind == "field" else "materials"].append(merged)
                continue
            prefix = "form_data" if kind == "field" else "materials"
            problems.setdefault(
                merged,
                FieldError(
                    f"{prefix}.{merged}",
                    "not_requested",
                    _("%(service)s did not ask for this to be corrected: keep it as submitted.")
                    % {"service": part.service_name},
                ),
            )
    return list(problems.values()), reached


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
