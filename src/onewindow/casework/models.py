"""Applications (办件) and what hangs off them: the timeline, supplements (补正), suspensions
(中止), extensions (延期), uploaded materials and the daily number sequence.

Only casework.services writes these tables.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("draft (草稿)")
    SUBMITTED = "submitted", _("submitted, awaiting acceptance (已提交待受理)")
    SUPPLEMENT = "supplement", _("awaiting correction (待补正)")
    NOT_ACCEPTED = "not_accepted", _("not accepted (不予受理)")
    IN_REVIEW = "in_review", _("accepted, in review (已受理审查中)")
    SUSPENDED = "suspended", _("suspended (中止)")
    APPROVED = "approved", _("approved (准予)")
    REJECTED = "rejected", _("rejected (不予许可)")
    COMPLETED = "completed", _("completed (办结)")
    # A part of a bundle (一件事) stopped because another part was refused and the bundle
    # returns as a whole (整件退回).
    TERMINATED = "terminated", _("stopped with the bundle (整件退回，终止办理)")


OPEN_STATUSES = (Status.SUBMITTED, Status.SUPPLEMENT, Status.IN_REVIEW, Status.SUSPENDED)
PAUSED_STATUSES = (Status.SUPPLEMENT, Status.SUSPENDED)


class Channel(models.TextChoices):
    ONLINE = "online", _("online (网上申请)")
    COUNTER = "counter", _("at a counter (窗口代办)")


class Application(models.Model):
    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Drafts have no number yet; NULLs do not collide under the unique constraint (declared
    # in Meta: a plain unique index, no second LIKE index that every submission would update).
    number = models.CharField(  # noqa: DJ001
        _("application number (办件编号)"), max_length=64, null=True
    )
    service_item = models.ForeignKey(
        "catalog.ServiceItem", on_delete=models.PROTECT, related_name="applications"
    )
    service_version = models.ForeignKey(
        "catalog.ServiceVersion", on_delete=models.PROTECT, related_name="applications"
    )
    service_name = models.CharField(_("service"), max_length=200)
    # department, applicant and enterprise lead the composite indexes in Meta, which serve
    # their foreign keys too: no single-column index of their own to maintain on every write.
    department = models.ForeignKey(
        "org.Department", on_delete=models.PROTECT, related_name="applications", db_index=False
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="applications",
        db_index=False,
    )
    enterprise = models.ForeignKey(
        "identity.Enterprise",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
        db_index=False,
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications_filed",
        verbose_name=_("filed by (window clerk, 帮办代办)"),
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.ONLINE)
    # A part (子件) of a bundle application (一件事): the parent holds the merged form and the
    # one number the applicant follows; each part is one member item in its department.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parts",
        verbose_name=_("bundle application (一件事)"),
    )
    form_data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1)
    process_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_on = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The clock (办理时限): promised working days from acceptance, paused while correcting or
    # suspended. While paused, due_date is empty and remaining_days holds what was left.
    limit_days = models.PositiveSmallIntegerField(null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(default=0)
    due_date = models.DateField(null=True, blank=True)
    provisional = models.BooleanField(default=False)
    paused_on = models.DateField(null=True, blank=True)
    remaining_days = models.SmallIntegerField(null=True, blank=True)
    resume_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    outcome_reason = models.TextField(blank=True)
    # Answers filled from the applicant's own registry entry when the draft was created (免填),
    # and, after submission, the answers that differ from the registry (跨部门比对), for the
    # reviewer: [{"field", "label", "element", "registry"}] with the registry value masked.
    prefilled = models.JSONField(default=list, blank=True)
    registry_checks = models.JSONField(default=list, blank=True)
    registry_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="application_mine"),
            models.Index(fields=["enterprise", "-created_at"], name="application_enterprise"),
            models.Index(fields=["department", "status"], name="application_department"),
        ]
        constraints = [models.UniqueConstraint(fields=["number"], name="application_number")]
        verbose_name = _("application")
        verbose_name_plural = _("applications")

    def __str__(self) -> str:
        return self.number or f"{self.service_name} ({self.get_status_display()})"

    @property
    def public_id(self) -> str:
        return self.number or self.ref.hex


class TimelineEvent(models.Model):
    """One line of the timeline (办理过程) the applicant and staff see."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=48)
    step_name = models.CharField(max_length=100, blank=True)
    department_name = models.CharField(max_length=100, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    opinion = models.TextField(blank=True)
    # Reasons the law says the applicant must be told (不予受理, 补正, 延期, 不予许可) are public;
    # reviewers' working opinions are for staff only.
    opinion_public = models.BooleanField(default=False)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind}"


class Supplement(models.Model):
    """A request to correct (补正): every missing or wrong item listed at once (一次性告知)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="supplements"
    )
    items = models.JSONField()  # [{"key": ..., "kind": "field"|"material", "name":, "reason":}]
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            # 一次性告知: one request per application, so the list must be complete.
            models.UniqueConstraint(fields=["application"], name="casework_one_supplement")
        ]

    def __str__(self) -> str:
        return f"补正 {self.application_id}"


class SuspensionReason(models.TextChoices):
    HEARING = "hearing", _("hearing (听证)")
    TESTING = "testing", _("testing or inspection (检验、检测、检疫)")
    APPRAISAL = "appraisal", _("appraisal (鉴定)")
    EXPERT_REVIEW = "expert_review", _("expert review (专家评审)")


class Suspension(models.Model):
    """Time excluded from the limit (行政许可法 Art. 45): the clock stops."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="suspensions"
    )
    reason = models.CharField(max_length=32, choices=SuspensionReason.choices)
    note = models.TextField(blank=True)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["started_on", "id"]

    def __str__(self) -> str:
        return f"中止 {self.application_id} {self.reason}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("awaiting the head's approval")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")


class Extension(models.Model):
    """An extension (延期) of the limit, approved by the department head; the applicant is told
    why (行政许可法 Art. 42)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="extensions"
    )
    days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    status = models.CharField(
        max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    work_item_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application"], name="casework_one_extension")
        ]

    def __str__(self) -> str:
        return f"延期 {self.application_id} +{self.days}"


class ScanStatus(models.TextChoices):
    CLEAN = "clean", _("clean")
    INFECTED = "infected", _("infected")
    NOT_SCANNED = "not_scanned", _("not scanned (no scanner configured)")


class MaterialFile(models.Model):
    """One uploaded version of one material. Replacing a file adds a version; nothing is
    overwritten, and the stored name is derived from the content hash."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="material_files"
    )
    material_key = models.SlugField(max_length=64)
    material_name = models.CharField(max_length=200)
    version = models.PositiveSmallIntegerField()
    current = models.BooleanField(default=True)
    file = models.FileField(upload_to="materials/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sm3 = models.CharField(_("content hash (SM3)"), max_length=64)
    scan_status = models.CharField(max_length=16, choices=ScanStatus.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["material_key", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material_key", "version"], name="casework_material_version"
            ),
            models.UniqueConstraint(
                fields=["application", "material_key"],
                condition=models.Q(current=True),
                name="casework_material_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.material_name} v{self.version}"


class DailySerial(models.Model):
    """The daily serial behind application numbers: 实施编码 + yyyyMMdd + serial. Incremented with
    an UPDATE inside the submitting transaction, so two submissions never share a number."""

    prefix = models.CharField(max_length=64)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "day"], name="casework_serial")]

    def __str__(self) -> str:
        return f"{self.prefix} {self.day} {self.last}"


class SubmissionSeal(models.Model):
    """签名存证: what was submitted, sealed. The SM3 digest of the canonical JSON of exactly
    what the applicant submitted (the cleaned answers, each material's version and SM3, the
    e-licenses used) and the platform's SM2 signature over it, written in the submitting
    transaction; a correction (补正) returned seals again. Any later change to the answers or
    files makes the recomputed digest differ."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="seals")
    kind = models.CharField(max_length=24)  # submitted | supplement_returned
    digest = models.CharField(max_length=64)
    signature = models.CharField(max_length=160)
    key_id = models.CharField(max_length=64)
    licenses = models.JSONField(default=dict, blank=True)  # material key -> identifier
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sealed_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind} {self.digest[:12]}"
