"""The service catalog (政务服务事项目录), after the national platform's item tables.

* ``ServiceItem`` — a service (事项) as people know it: stable ``key``, national codes, the
  implementing department, audience, life events. Its content lives in versions.
* ``ServiceVersion`` — one version of the guide (办事指南), form schema and materials:
  draft -> published -> retired. A published version is immutable; applications keep the
  version they started with. At most one version per item is published.
* ``Material`` / ``Fee`` — rows of a version.
* ``LifeEvent`` — 出生, 入学, 就业, 退休, 身后 (natural persons); 开办, 变更, 注销 (legal persons).
* ``SynonymGroup`` — search synonyms (营业执照 ~ 开公司 ~ 企业开办), maintained like data.
* ``SearchEntry`` — the segmented text of each published item, indexed by SQLite FTS5 or a
  PostgreSQL tsvector (see ``search.py`` and migration 0002).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    NATURAL_PERSON = "natural_person", _("individuals")
    LEGAL_PERSON = "legal_person", _("enterprises and organisations")


class ItemType(models.TextChoices):
    """事项类型 (national codes)."""

    LICENSING = "01", _("administrative licensing (行政许可)")
    PENALTY = "02", _("administrative penalty (行政处罚)")
    COMPULSION = "03", _("administrative compulsion (行政强制)")
    LEVY = "04", _("administrative levy (行政征收)")
    BENEFIT = "05", _("administrative payment (行政给付)")
    INSPECTION = "06", _("administrative inspection (行政检查)")
    CONFIRMATION = "07", _("administrative confirmation (行政确认)")
    REWARD = "08", _("administrative reward (行政奖励)")
    ADJUDICATION = "09", _("administrative adjudication (行政裁决)")
    OTHER_POWER = "10", _("other administrative power (其他行政权力)")
    PUBLIC_SERVICE = "20", _("public service (公共服务)")


class HandlingType(models.TextChoices):
    INSTANT = "instant", _("on the spot (即办件)")
    COMMITMENT = "commitment", _("within a promised time (承诺件)")


class Level(models.TextChoices):
    """行使层级."""

    NATIONAL = "national", _("national")
    PROVINCE = "province", _("province")
    CITY = "city", _("city")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")


class LifeEvent(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["audience", "order", "code"]
        verbose_name = _("life event")
        verbose_name_plural = _("life events")

    def __str__(self) -> str:
        return self.name


class ServiceItem(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=64,
        unique=True,
        help_text=_("Stable short name used in configuration and addresses."),
    )
    name = models.CharField(_("name"), max_length=200)
    basic_code = models.CharField(_("basic code (基本编码)"), max_length=12)
    implementation_code = models.CharField(
        _("implementation code (实施编码)"), max_length=40, unique=True
    )
    item_type = models.CharField(_("item type"), max_length=2, choices=ItemType.choices)
    department = models.ForeignKey(
        "org.Department",
        verbose_name=_("implementing department"),
        on_delete=models.PROTECT,
        related_name="service_items",
    )
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, default=Level.CITY)
    serves_individuals = models.BooleanField(_("for individuals (自然人)"), default=False)
    serves_organisations = models.BooleanField(_("for enterprises (法人)"), default=False)
    life_events = models.ManyToManyField(
        LifeEvent, verbose_name=_("life events"), blank=True, related_name="items"
    )
    high_frequency = models.BooleanField(_("high-frequency service"), default=False)
    # A bundle (一件事): one application whose parts go to the member items' departments.
    # Its published version holds the merged form and materials and the member map.
    is_bundle = models.BooleanField(_("life-event bundle (一件事)"), default=False)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        indexes = [models.Index(fields=["department", "is_active"])]

    def __str__(self) -> str:
        return self.name

    def audiences(self) -> list[str]:
        chosen = (
            (Audience.NATURAL_PERSON.value, self.serves_individuals),
            (Audience.LEGAL_PERSON.value, self.serves_organisations),
        )
        return [audience for audience, on in chosen if on]

    def published_version(self) -> ServiceVersion | None:
        return self.versions.filter(status=VersionStatus.PUBLISHED).first()


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    RETIRED = "retired", _("retired")


class ImmutableVersionError(ValidationError):
    pass


class ServiceVersion(models.Model):
    """One version of an item's guide, form and materials. Published and retired versions
    are immutable (only published -> retired may change)."""

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    acceptance_conditions = models.TextField(_("acceptance conditions (受理条件)"))
    legal_limit_days = models.PositiveSmallIntegerField(_("legal time limit (working days)"))
    promised_limit_days = models.PositiveSmallIntegerField(_("promised time limit (working days)"))
    handling_type = models.CharField(
        _("handling type"), max_length=16, choices=HandlingType.choices
    )
    visits_required = models.PositiveSmallIntegerField(_("visits to a counter"), default=0)
    online = models.BooleanField(_("can be done fully online"), default=True)
    location = models.TextField(_("where (办理地点)"))
    hours = models.CharField(_("when (办理时间)"), max_length=200)
    consult_phone = models.CharField(_("enquiries (咨询方式)"), max_length=100)
    complaint_phone = models.CharField(_("complaints (监督投诉方式)"), max_length=100)
    legal_basis = models.TextField(_("legal basis (设定依据)"))
    process = models.TextField(_("how it is handled (办理流程)"))
    process_definition = models.SlugField(
        _("process definition"),
        max_length=64,
        blank=True,
        help_text=_("Key of the workflow definition that handles applications."),
    )
    result_name = models.CharField(_("result (办理结果)"), max_length=100, blank=True)
    form_schema = models.JSONField(_("form schema"), default=dict)
    # Bundles only: {"on_rejection", "members": [{"item", "version", "department", "after",
    # "fields": {member field: merged field}, "materials": {...}}], "prechecks": [...]}.
    bundle = models.JSONField(_("bundle (一件事) members"), default=dict, blank=True)
    content_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item_id", "-number"]
        verbose_name = _("service version")
        verbose_name_plural = _("service versions")
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="catalog_version_number"),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status="published"),
                name="catalog_one_published_version",
            ),
            models.CheckConstraint(
                condition=Q(promised_limit_days__lte=models.F("legal_limit_days")),
                name="catalog_promised_within_legal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} v{self.number} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            before = ServiceVersion.objects.filter(pk=self.pk).values_list("status", flat=True)
            status = before.first()
            retiring = (
                status == VersionStatus.PUBLISHED
                and self.status == VersionStatus.RETIRED
                and set(kwargs.get("update_fields") or ()) <= {"status", "retired_at"}
                and kwargs.get("update_fields")
            )
            if status in (VersionStatus.PUBLISHED, VersionStatus.RETIRED) and not retiring:
                raise ImmutableVersionError(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.status != VersionStatus.DRAFT:
            raise ImmutableVersionError(_("Only drafts can be deleted."))
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        if self.promised_limit_days > self.legal_limit_days:
            raise ValidationError(
                {"promised_limit_days": _("The promised time limit cannot exceed the legal one.")}
            )
        if self.handling_type == HandlingType.INSTANT and self.promised_limit_days != 0:
            raise ValidationError(
                {"promised_limit_days": _("An on-the-spot item has a promised time limit of 0.")}
            )
        if self.handling_type == HandlingType.COMMITMENT and self.promised_limit_days == 0:
            raise ValidationError(
                {"promised_limit_days": _("A commitment item needs a promised time limit.")}
            )


class Necessity(models.TextChoices):
    REQUIRED = "required", _("required")
    CONDITIONAL = "conditional", _("required when the form says so")
    OPTIONAL = "optional", _("optional")


class MaterialForm(models.TextChoices):
    ELECTRONIC = "electronic", _("electronic")
    PAPER = "paper", _("paper")
    BOTH = "both", _("electronic and paper")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("provided by the applicant")
    LICENSE = "license", _("an e-license the government issued (免提交)")


class Material(models.Model):
    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="materials")
    key = models.SlugField(_("key"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    necessity = models.CharField(_("necessity"), max_length=16, choices=Necessity.choices)
    required_if = models.CharField(_("required when"), max_length=500, blank=True)
    form = models.CharField(_("form"), max_length=16, choices=MaterialForm.choices)
    copies = models.PositiveSmallIntegerField(_("paper copies"), default=0)
    source = models.CharField(_("source"), max_length=16, choices=MaterialSource.choices)
    license_type = models.CharField(_("e-license type"), max_length=64, blank=True)
    acceptance_standard = models.TextField(_("acceptance standard (受理标准)"), blank=True)
    blank_form = models.CharField(_("blank form (空白表格)"), max_length=300, blank=True)
    sample = models.CharField(_("filled-in sample (示例样表)"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="catalog_material_key"),
        ]
        verbose_name = _("material")
        verbose_name_plural = _("materials")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.version.status != VersionStatus.DRAFT:
            raise ImmutableVersionError(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.version.status != VersionStatus.DRAFT:
            raise ImmutableVersionError(_("A published version cannot be changed."))
        return super().delete(*args, **kwargs)


class Fee(models.Model):
    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="fees")
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    basis = models.CharField(_("basis"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version_id", "order"]
        verbose_name = _("fee")
        verbose_name_plural = _("fees")

    def __str__(self) -> str:
        return f"{self.name} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.version.status != VersionStatus.DRAFT:
            raise ImmutableVersionError(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.version.status != VersionStatus.DRAFT:
            raise ImmutableVersionError(_("A published version cannot be changed."))
        return super().delete(*args, **kwargs)


class SynonymGroup(models.Model):
    """Words people use for the same thing, e.g. 营业执照 / 开公司 / 企业开办 / 公司注册."""

    terms = models.JSONField(_("terms"), default=list)

    class Meta:
        verbose_name = _("synonym group")
        verbose_name_plural = _("synonym groups")

    def __str__(self) -> str:
        return " ~ ".join(self.terms)


class SearchEntry(models.Model):
    """Segmented text of an item's published version: ``name_terms`` (name and keywords)
    rank above ``body_terms`` (guide text). Rebuilt whenever a version is published."""

    # The item's id is the row id, so the full-text index answers with item ids directly.
    item = models.OneToOneField(
        ServiceItem, on_delete=models.CASCADE, related_name="search", primary_key=True
    )
    name_terms = models.TextField()
    body_terms = models.TextField()

    class Meta:
        verbose_name = _("search entry")

    def __str__(self) -> str:
        return f"search entry of item {self.item_id}"
