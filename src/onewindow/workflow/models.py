"""The working-day calendar (工作日历): per year, the announced holidays and make-up workdays."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarSource(models.TextChoices):
    PACKAGE = "chinese-calendar", _("chinese-calendar package (2004-2026)")
    IMPORT = "import", _("imported by an administrator")


class CalendarYear(models.Model):
    """A year whose official holidays and 调休 are known. Years absent here are computed with
    the statutory fallback and every deadline touching them is provisional."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=32, choices=CalendarSource.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("day off (holiday)")
    WORKDAY = "workday", _("make-up workday (调休)")


class CalendarDay(models.Model):
    date = models.DateField(_("date"), primary_key=True)
    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    kind = models.CharField(_("kind"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


# --- process definitions, instances and work items (流程定义、流程实例、待办) ----------------


class ProcessDefinition(models.Model):
    """One version of a process definition (流程定义), kept as the YAML it was loaded from.

    Rows are never changed once written: a new version is a new row, and running instances keep
    the row they started with.
    """

    key = models.SlugField(_("key"), max_length=64)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    source = models.TextField(_("definition (YAML)"))
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="workflow_definition_version")
        ]
        verbose_name = _("process definition")
        verbose_name_plural = _("process definitions")

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class InstanceStatus(models.TextChoices):
    RUNNING = "running", _("running")
    PAUSED = "paused", _("paused")
    FINISHED = "finished", _("finished")


class ProcessInstance(models.Model):
    """A running process for one case (办件). The engine's state lives in ``state`` (versioned
    JSON); ``version`` is bumped on every change so concurrent writers cannot both win."""

    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT)
    case_number = models.CharField(_("case number"), max_length=64)
    owner_department = models.ForeignKey(
        "org.Department", on_delete=models.PROTECT, related_name="+"
    )
    state = models.JSONField()
    status = models.CharField(max_length=16, choices=InstanceStatus.choices)
    version = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # A plain unique index (unique=True on a CharField adds a LIKE index on PostgreSQL).
        constraints = [models.UniqueConstraint(fields=["case_number"], name="instance_case")]
        verbose_name = _("process instance")
        verbose_name_plural = _("process instances")

    def __str__(self) -> str:
        return f"{self.case_number} ({self.definition})"


class WorkItemKind(models.TextChoices):
    STEP = "step", _("process step")
    EXTENSION = "extension", _("extension approval (延期审批)")


class WorkItemStatus(models.TextChoices):
    OPEN = "open", _("open")
    PAUSED = "paused", _("paused (clock stopped)")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class Light(models.TextChoices):
    """Warning lights (红黄绿灯) on a work item's deadline."""

    GREEN = "green", _("green: on time")
    YELLOW = "yellow", _("yellow: due soon")
    RED = "red", _("red: overdue")


class WorkItem(models.Model):
    """One piece of work (待办) for a department and role: a step of a process, or the head's
    approval of an extension. Inboxes and overdue lists are plain indexed queries on this table.
    """

    # instance, department and assignee lead the composite indexes in Meta, which also serve
    # their foreign keys; each index here is updated by every insert, so none is redundant.
    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    kind = models.CharField(max_length=16, choices=WorkItemKind.choices, default=WorkItemKind.STEP)
    token = models.CharField(max_length=16, blank=True)
    step = models.CharField(_("step"), max_length=64)
    step_name = models.CharField(_("step name"), max_length=100)
    case_number = models.CharField(_("case number"), max_length=64)
    service_name = models.CharField(_("service"), max_length=200)
    department = models.ForeignKey(
        "org.Department", on_delete=models.PROTECT, related_name="work_items", db_index=False
    )
    role = models.CharField(_("role"), max_length=32)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_items",
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=16, choices=WorkItemStatus.choices, default=WorkItemStatus.OPEN
    )
    actions = models.JSONField(_("actions"), default=list)
    lifecycle = models.JSONField(default=list)
    limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"), null=True)
    due_at = models.DateField(_("due"), null=True)
    warn_at = models.DateField(_("turns yellow on"), null=True)
    remaining_days = models.SmallIntegerField(null=True, blank=True)
    provisional = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(max_length=64, blank=True)
    opinion = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["department", "role", "status", "due_at", "id"], name="workitem_inbox"
            ),
            models.Index(fields=["assignee", "status", "due_at"], name="workitem_mine"),
            models.Index(fields=["status", "due_at"], name="workitem_overdue"),
            models.Index(fields=["instance", "status"], name="workitem_instance"),
            models.Index(fields=["case_number"], name="workitem_case"),
        ]
        verbose_name = _("work item")
        verbose_name_plural = _("work items")

    def __str__(self) -> str:
        return f"{self.case_number} {self.step_name}"

    def light(self, today: dt.date) -> str:
        if self.due_at is None:
            return Light.GREEN
        if today > self.due_at:
            return Light.RED
        if self.warn_at is not None and today >= self.warn_at:
            return Light.YELLOW
        return Light.GREEN
