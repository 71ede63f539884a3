"""The data hub's tables.

* ``DataElement`` — the data dictionary (数据元): ``person.id_number``, ``enterprise.uscc``, with
  type, classification (public / internal / sensitive / core), owner department and masking.
* ``Dataset`` + ``DatasetField`` — the sharing catalog (政务数据资源目录): each dataset is
  unconditionally shared (无条件共享), conditionally shared (有条件共享: an agreement, and for
  business data also the subject's consent) or not shared (不予共享); fields point at elements.
* ``Address``, ``Person`` (人口库), ``LegalEntity`` (法人库) — the base registries. A person's
  ID number is stored SM4-encrypted with an HMAC-SM3 look-up hash, never in clear.
* ``DatasetRecord`` — one subject's row of a department-provided business dataset (欠税,
  社保缴费, 海关未结手续 ...), values as JSON keyed by the dataset's field names.
* ``SharingAgreement`` — 共享协议: consumer department, dataset, fields (and which of them in
  clear text), purpose, legal basis, expiry; approved by the owner department's data steward.
* ``Consent`` — 授权: a person or enterprise lets a department read a consent-bound dataset for a
  purpose, until a date or for one application (case number); revocable.
* ``ImportBatch`` — one delivery into a dataset or registry (a CSV/Excel file, or a run of the
  demo generator): file name and SM3, who, when, rows accepted and rejected. Every registry row
  and record keeps its lineage: source dataset, batch (none for rows written by other
  services) and the time it was loaded.
* ``AccessLog`` — every request for personal data, allowed or refused: who, when, case, purpose,
  fields and an SM3 digest of what was returned. Append-only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Classification(models.TextChoices):
    """数据分级: what a field may be shared as."""

    PUBLIC = "public", _("public")
    INTERNAL = "internal", _("internal")
    SENSITIVE = "sensitive", _("sensitive")
    CORE = "core", _("core")


class DataType(models.TextChoices):
    STRING = "string", _("text")
    CODE = "code", _("code")
    DATE = "date", _("date")
    INTEGER = "integer", _("whole number")
    DECIMAL = "decimal", _("amount")
    BOOLEAN = "boolean", _("yes / no")


class Masking(models.TextChoices):
    """How a sensitive value is shown when the agreement does not grant clear text."""

    ID_NUMBER = "id_number", _("ID number (110***********1234)")
    NAME = "name", _("name (张*)")
    PHONE = "phone", _("mobile (138****5678)")
    DATE = "date", _("date (year only)")
    ADDRESS = "address", _("address (first characters only)")
    WITHHOLD = "withhold", _("withheld entirely")


class DataElement(models.Model):
    """A standard data element (数据元) of the data dictionary."""

    key = models.CharField(_("key"), max_length=64, unique=True)  # "person.id_number"
    name = models.CharField(_("name"), max_length=64)
    data_type = models.CharField(_("type"), max_length=16, choices=DataType.choices)
    classification = models.CharField(
        _("classification"), max_length=16, choices=Classification.choices
    )
    masking = models.CharField(
        _("masking"), max_length=16, choices=Masking.choices, default=Masking.WITHHOLD
    )
    owner = models.ForeignKey(
        "org.Department", verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("data element")
        verbose_name_plural = _("data elements")

    def __str__(self) -> str:
        return self.key

    @property
    def is_protected(self) -> bool:
        return self.classification in (Classification.SENSITIVE, Classification.CORE)


class Sharing(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("shared unconditionally (无条件共享)")
    CONDITIONAL = "conditional", _("shared on conditions (有条件共享)")
    NOT_SHARED = "not_shared", _("not shared (不予共享)")


class SubjectType(models.TextChoices):
    PERSON = "person", _("person")
    ENTERPRISE = "enterprise", _("enterprise")


class Source(models.TextChoices):
    """Where a dataset's rows live: the hub's own registries or department-provided records."""

    POPULATION = "population", _("population registry")
    LEGAL_ENTITY = "legal_entity", _("legal entity registry")
    RECORDS = "records", _("department-provided records")


# Registry fields each source can produce; a catalog entry may list only these.
SOURCE_FIELDS = {
    Source.POPULATION: (
        "id_number",
        "name",
        "sex",
        "birth_date",
        "household_region",
        "household_address",
        "status",
        "death_date",
    ),
    Source.LEGAL_ENTITY: (
        "uscc",
        "name",
        "entity_type",
        "legal_representative",
        "legal_representative_id_number",
        "registered_region",
        "registered_address",
        "status",
        "established_on",
    ),
}


class UpdateFrequency(models.TextChoices):
    REALTIME = "realtime", _("real time")
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly")
    MONTHLY = "monthly", _("monthly")
    QUARTERLY = "quarterly", _("quarterly")


class Dataset(models.Model):
    """A data resource in the sharing catalog (政务数据资源目录)."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    subject_type = models.CharField(_("subject type"), max_length=16, choices=SubjectType.choices)
    owner = models.ForeignKey(
        "org.Department", verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    sharing = models.CharField(_("sharing"), max_length=16, choices=Sharing.choices)
    consent_required = models.BooleanField(_("subject's consent required"), default=False)
    update_frequency = models.CharField(
        _("promised update frequency"), max_length=16, choices=UpdateFrequency.choices
    )
    data_updated_at = models.DateTimeField(_("data last updated"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.consent_required and self.sharing != Sharing.CONDITIONAL:
            raise ValidationError(
                {"consent_required": _("Only a conditionally shared dataset can need consent.")}
            )


class DatasetField(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="fields")
    name = models.SlugField(_("field"), max_length=64)
    element = models.ForeignKey(
        DataElement, verbose_name=_("data element"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dataset", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="datahub_field_once")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.key}.{self.name}"


class ImportOrigin(models.TextChoices):
    FILE = "file", _("file import")
    GENERATOR = "generator", _("demo generator")


class ImportStatus(models.TextChoices):
    RUNNING = "running", _("running")
    FINISHED = "finished", _("finished")
    FAILED = "failed", _("failed")


class ImportBatch(models.Model):
    """One delivery into a dataset or registry: the lineage every loaded row points at."""

    dataset = models.ForeignKey(
        Dataset, verbose_name=_("dataset"), on_delete=models.PROTECT, related_name="import_batches"
    )
    origin = models.CharField(_("origin"), max_length=16, choices=ImportOrigin.choices)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_sm3 = models.CharField(_("SM3 of the file"), max_length=64, blank=True)
    actor = models.CharField(_("imported by"), max_length=150)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_ok = models.PositiveIntegerField(_("rows imported"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return f"{self.dataset_id}#{self.pk} {self.file_name or self.origin}"


class Loaded(models.Model):
    """Lineage shared by every registry row: the import batch it came in (none for rows the
    services or the demo generator wrote without a file) and when it was loaded."""

    import_batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("import batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        abstract = True


class Address(models.Model):
    """A standard address (地址库): a county-level region and the rest of the address."""

    region = models.ForeignKey(
        "org.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    detail = models.CharField(_("street and number"), max_length=200)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(fields=["region", "detail"], name="datahub_address_once")
        ]

    def __str__(self) -> str:
        return self.detail


class Sex(models.TextChoices):
    MALE = "1", _("male")
    FEMALE = "2", _("female")


class LifeStatus(models.TextChoices):
    ALIVE = "alive", _("alive")
    DECEASED = "deceased", _("deceased")


class Person(Loaded):
    """A resident in the population registry (人口库)."""

    id_number_encrypted = models.TextField(_("ID number (encrypted)"))
    id_number_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=64)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("date of birth"))
    household_address = models.ForeignKey(
        Address,
        verbose_name=_("household registration address"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=LifeStatus.choices, default=LifeStatus.ALIVE
    )
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Lineage: where the row came from (the batch and time come from ``Loaded``).
    source_key = models.CharField(_("source dataset"), max_length=64, default="population")

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        from onewindow.kit.masking import mask_name

        return mask_name(self.name)


class EntityType(models.TextChoices):
    LIMITED_COMPANY = "limited_company", _("limited liability company")
    JOINT_STOCK = "joint_stock", _("joint-stock company")
    SOLE_PROPRIETOR = "sole_proprietor", _("individual business (个体工商户)")
    PARTNERSHIP = "partnership", _("partnership")
    COOPERATIVE = "cooperative", _("farmers' cooperative")


class EntityStatus(models.TextChoices):
    ACTIVE = "active", _("in business (存续)")
    REVOKED = "revoked", _("licence revoked (吊销)")
    DEREGISTERED = "deregistered", _("deregistered (注销)")


class LegalEntity(Loaded):
    """A market entity in the legal entity registry (法人库), keyed by its USCC."""

    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    entity_type = models.CharField(_("type"), max_length=32, choices=EntityType.choices)
    legal_representative = models.ForeignKey(
        Person,
        verbose_name=_("legal representative"),
        on_delete=models.PROTECT,
        related_name="represented_entities",
    )
    registered_address = models.ForeignKey(
        Address, verbose_name=_("registered address"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=EntityStatus.choices, default=EntityStatus.ACTIVE
    )
    established_on = models.DateField(_("established on"))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Lineage: where the row came from (the batch and time come from ``Loaded``).
    source_key = models.CharField(_("source dataset"), max_length=64, default="legal_entity")

    class Meta:
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")

    def __str__(self) -> str:
        return self.name


class DatasetRecord(Loaded):
    """One subject's row of a department-provided dataset. ``subject_key`` is the USCC for an
    enterprise and the ID number's look-up hash for a person (never the ID number)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="records")
    subject_key = models.CharField(max_length=64)
    values = models.JSONField(_("values"), default=dict)
    as_of = models.DateField(_("as of"))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Lineage: the source is ``dataset``; the batch and time come from ``Loaded``.

    class Meta:
        verbose_name = _("dataset record")
        verbose_name_plural = _("dataset records")
        constraints = [
            models.UniqueConstraint(fields=["dataset", "subject_key"], name="datahub_record_once")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.key}:{self.pk}"


class AgreementStatus(models.TextChoices):
    PENDING = "pending", _("awaiting approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    SUPERSEDED = "superseded", _("superseded")
    REVOKED = "revoked", _("revoked")


class SharingAgreement(models.Model):
    """共享协议 between the dataset's owner and a consumer department."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="agreements")
    consumer = models.ForeignKey(
        "org.Department",
        verbose_name=_("consumer department"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    fields = models.JSONField(_("fields"), default=list)
    clear_fields = models.JSONField(_("fields in clear text"), default=list, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    expires_on = models.DateField(_("expires on"))
    status = models.CharField(
        _("status"), max_length=16, choices=AgreementStatus.choices, default=AgreementStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("sharing agreement")
        verbose_name_plural = _("sharing agreements")
        constraints = [
            # At most one agreement in force per consumer and dataset: the one a read uses.
            models.UniqueConstraint(
                fields=["dataset", "consumer"],
                condition=Q(status="approved"),
                name="datahub_one_approved_agreement",
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer} ← {self.dataset}"

    def in_force(self, today: Any = None) -> bool:
        return self.status == AgreementStatus.APPROVED and self.expires_on >= (
            today or timezone.localdate()
        )


class Consent(models.Model):
    """授权: the data subject lets a department read a consent-bound dataset."""

    subject_type = models.CharField(max_length=16, choices=SubjectType.choices)
    subject_key = models.CharField(max_length=64)  # USCC, or the ID number's look-up hash
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="consents")
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    expires_at = models.DateTimeField(_("valid until"), null=True, blank=True)
    case_number = models.CharField(_("for application"), max_length=64, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [
            models.Index(
                fields=["subject_key", "dataset", "department"], name="datahub_consent_key"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=False) | ~Q(case_number=""),
                name="datahub_consent_bounded",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset} → {self.department}"

    def is_active(self, *, case_number: str = "", at: Any = None) -> bool:
        now = at or timezone.now()
        if self.revoked_at is not None:
            return False
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return not self.case_number or self.case_number == case_number


class Outcome(models.TextChoices):
    ALLOWED = "allowed", _("allowed")
    REFUSED = "refused", _("refused")
    NOT_FOUND = "not_found", _("not found")


class AppendOnlyError(Exception):
    pass


class AccessLog(models.Model):
    """One request for data about a subject. Department and dataset are copied as text so the
    record stays readable whatever happens to the catalog later."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150)  # "client:<id>" or a staff username
    department_code = models.CharField(max_length=32, blank=True)
    department_name = models.CharField(max_length=100, blank=True)
    dataset_key = models.CharField(max_length=64)
    dataset_name = models.CharField(max_length=100, blank=True)
    subject_type = models.CharField(max_length=16, choices=SubjectType.choices, blank=True)
    subject_key = models.CharField(max_length=64, blank=True)
    fields = models.JSONField(default=list)
    case_number = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    # The agreement's id as a number, not a foreign key: the log outlives any catalog row.
    agreement_ref = models.PositiveBigIntegerField(null=True, blank=True)
    response_digest = models.CharField(max_length=64, blank=True)  # SM3 of the data returned
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            models.Index(fields=["subject_key", "-occurred_at"], name="datahub_log_subject"),
            models.Index(fields=["department_code", "-occurred_at"], name="datahub_log_dept"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor} {self.dataset_key}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("access log entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("access log entries are never deleted")
