"""Process instances and work items (流程实例与待办): the only writer of their tables.

The routing itself is the pure engine in :mod:`onewindow.workflow.engine`; this module keeps
the engine's state in a row, turns activated steps into work items with working-day deadlines
and warning dates, and makes every change to a work item win exactly once: the instance row is
locked (``select_for_update``; SQLite serialises writers with IMMEDIATE transactions) and the
item's ``version`` must match what the caller saw.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from onewindow.identity.models import CASEWORK_ROLES
from onewindow.kit.errors import NOT_FOUND, ApiError, FieldError
from onewindow.org.models import Department
from onewindow.org.selectors import department_id_for
from onewindow.workflow import engine
from onewindow.workflow.calendar import DatabaseCalendar, deadline, working_days_left
from onewindow.workflow.errors import (
    OPINION_REQUIRED,
    PROCESS_DEFINITION_INVALID,
    TASK_ACTION_INVALID,
    TASK_CLAIMED_BY_OTHER,
    TASK_NOT_OPEN,
    TASK_VERSION_CONFLICT,
)
from onewindow.workflow.models import (
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
)

#: The staff roles a process step may name: those who work the inboxes.
STEP_ROLES = frozenset(role.value for role in CASEWORK_ROLES)
OWNER = "owner"


# --- definitions -----------------------------------------------------------------------------


def definition_parse(source: str) -> engine.ProcessDefinition:
    try:
        return engine.load_definition(source, roles=STEP_ROLES)
    except engine.DefinitionError as error:
        raise ApiError(
            PROCESS_DEFINITION_INVALID,
            details=[FieldError(p.path, p.code, p.message) for p in error.problems],
        ) from error


def definition_save(*, source: str) -> ProcessDefinition:
    """Store a validated definition. A (key, version) already stored must be identical: a
    published version never changes; publish a new version instead."""
    parsed = definition_parse(source)
    checksum = hashlib.sha256(source.encode("utf-8")).hexdigest()
    row, created = ProcessDefinition.objects.get_or_create(
        key=parsed.key,
        version=parsed.version,
        defaults={"name": parsed.name or "", "source": source, "checksum": checksum},
    )
    if created:
        cache.delete(LATEST_CACHE_KEY.format(key=parsed.key))
        transaction.on_commit(lambda: cache.delete(LATEST_CACHE_KEY.format(key=parsed.key)))
    if not created and row.checksum != checksum:
        raise ApiError(
            PROCESS_DEFINITION_INVALID,
            details=[
                FieldError(
                    "version",
                    "version_exists",
                    f"{parsed.key} v{parsed.version} exists with other content; "
                    "raise the version number",
                )
            ],
        )
    return row


LATEST_CACHE_KEY = "workflow:latest-definition:{key}"
LATEST_CACHE_SECONDS = 300


def definition_latest(key: str) -> ProcessDefinition | None:
    """The newest stored version of a definition (cached; ``definition_save`` drops the entry
    when a new version commits, so a submission after a load starts the new version)."""
    cache_key = LATEST_CACHE_KEY.format(key=key)
    cached = cache.get(cache_key)
    if cached is None:
        row = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
        cached = ("row", row) if row is not None else ("none", None)
        cache.set(cache_key, cached, LATEST_CACHE_SECONDS)
    found: ProcessDefinition | None = cached[1]
    return found


@lru_cache(maxsize=256)
def _parsed(definition_id: int, checksum: str) -> engine.ProcessDefinition:
    # Rows are immutable, so (id, checksum) names one parse for the life of the process.
    source = ProcessDefinition.objects.values_list("source", flat=True).get(pk=definition_id)
    return definition_parse(source)


def parsed_definition(row: ProcessDefinition) -> engine.ProcessDefinition:
    return _parsed(row.pk, row.checksum)


# --- deadlines -------------------------------------------------------------------------------


def warn_date(due: dt.date, limit_days: int | None) -> dt.date:
    """The first day the light turns yellow: when at most N working days remain, N being the
    larger of ONEWINDOW_YELLOW_DAYS (2) and ONEWINDOW_YELLOW_RATIO (20 %) of the limit."""
    threshold = max(
        settings.ONEWINDOW_YELLOW_DAYS,
        math.floor((limit_days or 0) * settings.ONEWINDOW_YELLOW_RATIO),
    )
    calendar = DatabaseCalendar()
    day, counted = due, 0
    while counted < threshold:
        if calendar.year_data(day.year).is_workday(day):
            counted += 1
        day -= dt.timedelta(days=1)
    return day


def _set_due(item: WorkItem, due: dt.date | None, provisional: bool = False) -> None:
    item.due_at = due
    item.provisional = provisional
    item.warn_at = warn_date(due, item.limit_days) if due is not None else None


def _step_due(
    limit: int | None, today: dt.date, cap: dt.date | None
) -> tuple[dt.date | None, bool]:
    due: dt.date | None = None
    provisional = False
    if limit is not None:
        d = deadline(today, limit)
        due, provisional = d.due_date, d.provisional
    if cap is not None and (due is None or cap < due):
        due = cap
    return due, provisional


# --- instances and items ---------------------------------------------------------------------


@dataclass
class Outcome:
    """What one call changed: the engine's effects and the rows it created or closed."""

    instance: ProcessInstance
    effects: list[Any] = field(default_factory=list)
    created: list[WorkItem] = field(default_factory=list)
    completed: WorkItem | None = None

    @property
    def effect_names(self) -> list[str]:
        return [
            e.effect
            for e in self.effects
            if isinstance(e, engine.TaskCompleted) and e.effect is not None
        ]

    @property
    def finished(self) -> bool:
        return any(isinstance(e, engine.ProcessFinished) for e in self.effects)


def _department_for(step: Any, owner_id: int) -> int:
    code = getattr(step, "department", None) or OWNER
    if code == OWNER:
        return owner_id
    department_id = department_id_for(code)
    if department_id is None:
        raise ApiError(
            PROCESS_DEFINITION_INVALID,
            details=[FieldError(f"steps.{step.id}.department", "unknown_department", code)],
        )
    return department_id


def _apply_effects(
    instance: ProcessInstance,
    definition: engine.ProcessDefinition,
    effects: Iterable[Any],
    *,
    service_name: str,
    today: dt.date,
    cap: dt.date | None,
    outcome: Outcome,
) -> None:
    now = timezone.now()
    pending: list[WorkItem] = []

    def flush() -> None:
        # New items go in with one INSERT; before any other write, so the order of the
        # engine's effects is the order of the database's changes.
        if pending:
            outcome.created.extend(WorkItem.objects.bulk_create(pending))
            pending.clear()

    for effect in effects:
        outcome.effects.append(effect)
        if isinstance(effect, engine.TaskActivated):
            step = definition.step(effect.step)
            item = WorkItem(
                instance=instance,
                token=effect.token,
                step=step.id,
                step_name=step.name or step.id,
                case_number=instance.case_number,
                service_name=service_name,
                department_id=_department_for(step, instance.owner_department_id),
                role=step.role or "",
                actions=[
                    {"name": a.name, "label": a.label or a.name, "opinion": a.opinion}
                    for a in step.actions.values()
                ],
                lifecycle=list(step.lifecycle),
                limit_days=step.time_limit,
                status=(
                    WorkItemStatus.PAUSED
                    if instance.status == InstanceStatus.PAUSED
                    else WorkItemStatus.OPEN
                ),
            )
            due, provisional = _step_due(step.time_limit, today, cap)
            _set_due(item, due, provisional)
            pending.append(item)
        elif isinstance(effect, engine.TaskCancelled):
            flush()
            WorkItem.objects.filter(
                instance=instance,
                token=effect.token,
                status__in=[WorkItemStatus.OPEN, WorkItemStatus.PAUSED],
            ).update(status=WorkItemStatus.CANCELLED, completed_at=now, version=F("version") + 1)
        elif isinstance(effect, engine.ProcessFinished):
            instance.status = InstanceStatus.FINISHED
            instance.finished_at = now
    flush()


@transaction.atomic(savepoint=False)
def process_start(
    *,
    case_number: str,
    definition_row: ProcessDefinition,
    owner_department: Department,
    service_name: str,
    variables: Mapping[str, Any],
    today: dt.date,
    cap: dt.date | None = None,
) -> Outcome:
    definition = parsed_definition(definition_row)
    state, effects = engine.start(definition, variables)
    instance = ProcessInstance.objects.create(
        definition=definition_row,
        case_number=case_number,
        owner_department=owner_department,
        state=state.to_json(),
        status=InstanceStatus.RUNNING,
    )
    outcome = Outcome(instance=instance)
    _apply_effects(
        instance,
        definition,
        effects,
        service_name=service_name,
        today=today,
        cap=cap,
        outcome=outcome,
    )
    if instance.status != InstanceStatus.RUNNING:  # the process ended at once (e.g. instant)
        instance.save(update_fields=["status", "finished_at"])
    return outcome


def _locked(item_id: int) -> tuple[ProcessInstance, WorkItem]:
    """Lock the instance first, then read the item: one lock order for every writer."""
    instance_id = WorkItem.objects.filter(pk=item_id).values_list("instance_id", flat=True).first()
    if instance_id is None:
        raise ApiError(NOT_FOUND)
    instance = ProcessInstance.objects.select_for_update().get(pk=instance_id)
    item = WorkItem.objects.select_for_update().get(pk=item_id)
    return instance, item


def _check_version(item: WorkItem, version: int) -> None:
    if item.version != version:
        raise ApiError(TASK_VERSION_CONFLICT)


def item_lock(
    *,
    item_id: int,
    version: int,
    open_only: bool = True,
    authorise: Callable[[WorkItem], None] | None = None,
) -> tuple[ProcessInstance, WorkItem]:
    """Lock a work item for a change: who may see it is checked before its version, so a
    stranger learns nothing from a conflict."""
    instance, item = _locked(item_id)
    if authorise is not None:
        authorise(item)
    _check_version(item, version)
    if open_only and item.status != WorkItemStatus.OPEN:
        raise ApiError(TASK_NOT_OPEN)
    return instance, item


def _bump(item: WorkItem, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(item, name, value)
    item.version += 1
    item.save()


def item_claim(*, item_id: int, version: int, user: Any) -> WorkItem:
    with transaction.atomic():
        _, item = item_lock(item_id=item_id, version=version, open_only=False)
        if item.status not in (WorkItemStatus.OPEN, WorkItemStatus.PAUSED):
            raise ApiError(TASK_NOT_OPEN)
        if item.assignee_id not in (None, user.pk):
            raise ApiError(TASK_CLAIMED_BY_OTHER)
        _bump(item, assignee=user)
        return item


def item_release(*, item_id: int, version: int, user: Any, force: bool = False) -> WorkItem:
    with transaction.atomic():
        _, item = item_lock(item_id=item_id, version=version, open_only=False)
        if item.assignee_id is not None and item.assignee_id != user.pk and not force:
            raise ApiError(TASK_CLAIMED_BY_OTHER)
        _bump(item, assignee=None)
        return item


def _finish_item(item: WorkItem, *, user: Any, action: str, opinion: str, **detail: Any) -> None:
    _bump(
        item,
        status=WorkItemStatus.DONE,
        completed_at=timezone.now(),
        completed_by=user,
        assignee=item.assignee or user,
        action=action,
        opinion=opinion,
        detail={**item.detail, **detail},
    )


def item_complete(
    *,
    instance: ProcessInstance,
    item: WorkItem,
    action: str,
    opinion: str,
    user: Any,
    variables: Mapping[str, Any],
    today: dt.date,
    cap: dt.date | None,
) -> Outcome:
    """Take an engine action on a locked, open, version-checked step item."""
    if item.kind != WorkItemKind.STEP:
        raise ApiError(TASK_ACTION_INVALID)
    definition = parsed_definition(instance.definition)
    step = definition.step(item.step)
    spec = step.actions.get(action)
    if spec is None:
        raise ApiError(
            TASK_ACTION_INVALID, details=[FieldError("action", "unknown_action", action)]
        )
    if spec.opinion == "required" and not opinion.strip():
        raise ApiError(
            OPINION_REQUIRED,
            details=[FieldError("opinion", "required", str(OPINION_REQUIRED.message))],
        )
    state = engine.ProcessState.from_json(instance.state)
    try:
        new_state, effects = engine.act(definition, state, item.token, action, variables)
    except engine.EngineError as error:
        raise ApiError(
            TASK_ACTION_INVALID, details=[FieldError("action", error.code, str(error))]
        ) from error
    _finish_item(item, user=user, action=action, opinion=opinion)
    outcome = Outcome(instance=instance, completed=item)
    _apply_effects(
        instance,
        definition,
        effects,
        service_name=item.service_name,
        today=today,
        cap=cap,
        outcome=outcome,
    )
    outcome.effects = list(effects)
    instance.state = new_state.to_json()
    instance.version += 1
    instance.save(update_fields=["state", "version", "status", "finished_at"])
    return outcome


def item_close(*, item: WorkItem, user: Any, action: str, opinion: str, **detail: Any) -> WorkItem:
    """Close a locked non-step item (e.g. the head's extension approval)."""
    _finish_item(item, user=user, action=action, opinion=opinion, **detail)
    return item


def item_note(*, item: WorkItem, **changes: Any) -> WorkItem:
    """Bump a locked item's version with other changes (a lifecycle action taken on it)."""
    _bump(item, **changes)
    return item


def instance_cancel(*, instance: ProcessInstance) -> int:
    """End a locked instance early (its case was stopped): open and paused items cancelled.
    Returns how many items were cancelled."""
    now = timezone.now()
    count = 0
    for item in WorkItem.objects.filter(
        instance=instance, status__in=[WorkItemStatus.OPEN, WorkItemStatus.PAUSED]
    ):
        _bump(item, status=WorkItemStatus.CANCELLED, completed_at=now)
        count += 1
    instance.status = InstanceStatus.FINISHED
    instance.finished_at = now
    instance.version += 1
    instance.save(update_fields=["status", "finished_at", "version"])
    return count


def instance_pause(*, instance: ProcessInstance, today: dt.date) -> None:
    """Stop the clock on every open item of the instance, keeping the working days left."""
    instance.status = InstanceStatus.PAUSED
    instance.version += 1
    instance.save(update_fields=["status", "version"])
    for item in WorkItem.objects.filter(instance=instance, status=WorkItemStatus.OPEN):
        remaining = working_days_left(today, item.due_at) if item.due_at else None
        _bump(item, status=WorkItemStatus.PAUSED, remaining_days=remaining)


def resumed_due(today: dt.date, remaining: int | None) -> tuple[dt.date | None, bool]:
    if remaining is None:
        return None, False
    if remaining >= 0:
        d = deadline(today, remaining)
        return d.due_date, d.provisional
    # Already overdue when the clock stopped: it stays overdue by the same working days.
    return _working_days_back(today, -remaining), False


def _working_days_back(day: dt.date, days: int) -> dt.date:
    calendar = DatabaseCalendar()
    while days > 0:
        day -= dt.timedelta(days=1)
        if calendar.year_data(day.year).is_workday(day):
            days -= 1
    return day


def instance_resume(*, instance: ProcessInstance, today: dt.date) -> None:
    """Restart the clock: each paused item gets back exactly the working days it had left."""
    instance.status = InstanceStatus.RUNNING
    instance.version += 1
    instance.save(update_fields=["status", "version"])
    for item in WorkItem.objects.filter(instance=instance, status=WorkItemStatus.PAUSED):
        due, provisional = resumed_due(today, item.remaining_days)
        _set_due(item, due, provisional)
        _bump(item, status=WorkItemStatus.OPEN, remaining_days=None)


def instance_items_recap(
    *, instance: ProcessInstance, old_cap: dt.date | None, new_cap: dt.date
) -> None:
    """After an extension: items that were due on the old case deadline get the new one."""
    for item in WorkItem.objects.filter(
        instance=instance, status=WorkItemStatus.OPEN, kind=WorkItemKind.STEP
    ):
        if item.due_at is None or item.due_at == old_cap:
            _set_due(item, new_cap)
            _bump(item)


def instance_items_cap(*, instance: ProcessInstance, cap: dt.date) -> None:
    """After acceptance starts the case clock: no open item may be due after the case."""
    for item in WorkItem.objects.filter(
        instance=instance, status=WorkItemStatus.OPEN, kind=WorkItemKind.STEP
    ):
        if item.due_at is None or item.due_at > cap:
            _set_due(item, cap)
            _bump(item)


def extension_item_create(
    *, instance: ProcessInstance, department: Department, service_name: str, today: dt.date
) -> WorkItem:
    item = WorkItem(
        instance=instance,
        kind=WorkItemKind.EXTENSION,
        step="extension",
        step_name="延期审批",
        case_number=instance.case_number,
        service_name=service_name,
        department=department,
        role="department_head",
        actions=[
            {"name": "approve", "label": "批准延期", "opinion": "optional"},
            {"name": "refuse", "label": "不批准", "opinion": "required"},
        ],
        limit_days=settings.ONEWINDOW_EXTENSION_DECISION_DAYS,
    )
    d = deadline(today, settings.ONEWINDOW_EXTENSION_DECISION_DAYS)
    _set_due(item, d.due_date, d.provisional)
    item.save()
    return item


def overdue_escalate(*, today: dt.date, limit: int = 500) -> list[WorkItem]:
    """Mark open items past their due date as escalated (once each); the caller tells heads."""
    rows = list(
        WorkItem.objects.filter(
            status=WorkItemStatus.OPEN, due_at__lt=today, escalated_at__isnull=True
        ).order_by("due_at", "id")[:limit]
    )
    now = timezone.now()
    escalated = []
    for row in rows:
        if WorkItem.objects.filter(pk=row.pk, escalated_at__isnull=True).update(escalated_at=now):
            row.escalated_at = now
            escalated.append(row)
    return escalated
