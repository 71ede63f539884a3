"""E-licenses (电子证照): types, licenses, signing keys, status changes and verifications.

* ``LicenseType`` — 证照类型: the GB/T 36904 type code (defining authority's USCC + 3 digits),
  name, issuing department, holder kind (person: holder code type 111 居民身份证; organisation:
  001 统一社会信用代码), validity rule (years, or long-term), the template (which form answers are
  printed under which label) and the service items whose approval issues it (办理结果).
* ``SigningKey`` — a department's keys: an SM2 key pair that signs each license's data (SM3
  digest) and an EC key with a self-signed X.509 certificate that signs the PDF (PAdES). The
  private halves are stored SM4-encrypted under the platform keyring. Rotating adds a key and
  retires the old one; licenses keep the key they were signed with, so they stay verifiable.
  The platform's own key (no department) signs what applicants submit.
* ``License`` — one issued license with its identifier and check character, holder, issuer,
  dates, status, the printed data, its SM2 signature and the signed PDF.
* ``StatusChange`` — 暂扣 / 撤销 / 注销 / 恢复 by the issuing department, with the reason.
* ``Verification`` — every verification (page, API, PDF upload), its result and reason.
  Append-only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    pass


class HolderKind(models.TextChoices):
    PERSON = "person", _("person (自然人)")
    ORGANISATION = "organisation", _("organisation (法人)")


# GB/T 36904 持证主体代码类型: 111 居民身份证, 001 统一社会信用代码.
HOLDER_CODE_TYPE = {HolderKind.PERSON: "111", HolderKind.ORGANISATION: "001"}


class LicenseType(models.Model):
    key = models.SlugField(_("key"), max_length=64, unique=True)
    code = models.CharField(_("type code (证照类型代码)"), max_length=21, unique=True)
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        "org.Department",
        on_delete=models.PROTECT,
        related_name="license_types",
        verbose_name=_("issuing department"),
    )
    holder_kind = models.CharField(_("holder"), max_length=16, choices=HolderKind.choices)
    validity_years = models.PositiveSmallIntegerField(
        _("valid for (years)"), null=True, blank=True, help_text=_("Empty: long-term (长期).")
    )
    # The template: [{"label": "经营场所", "answer": "premises_address"}, ...]
    template = models.JSONField(_("printed fields"), default=list, blank=True)
    service_keys = models.JSONField(
        _("issued when these services are approved"), default=list, blank=True
    )
    replaces_previous = models.BooleanField(
        _("a new one replaces the holder's previous one"),
        default=False,
        help_text=_(
            "营业执照, 社会保障卡: one per holder; a new one (换发) cancels the previous one and "
            "keeps its rows that the new application does not change."
        ),
    )
    issue_if = models.CharField(
        _("issued only when"),
        max_length=300,
        blank=True,
        help_text=_(
            "A condition on the approved application's answers (form condition language); "
            "empty: always. E.g. a newborn's social security card is the child's, not the "
            "applicant's: application_type != 'newborn'."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_serial = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["key"]
        verbose_name = _("license type")
        verbose_name_plural = _("license types")

    def __str__(self) -> str:
        return self.name


class SigningKey(models.Model):
    key_id = models.CharField(max_length=64, unique=True)
    department = models.ForeignKey(
        "org.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signing_keys",
        help_text=_("Empty: the platform's own key (signs what applicants submit)."),
    )
    sm2_public = models.CharField(_("SM2 public key (hex)"), max_length=130)
    sm2_private_encrypted = models.TextField()
    pdf_certificate = models.TextField(_("PDF signing certificate (PEM)"))
    pdf_key_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            # One active key per department, and one for the platform (department NULL, which
            # a plain unique index would not compare: NULLs are distinct).
            models.UniqueConstraint(
                Coalesce("department", Value(0)),
                condition=Q(retired_at__isnull=True),
                name="license_one_active_key",
            ),
        ]

    def __str__(self) -> str:
        return self.key_id


class Status(models.TextChoices):
    VALID = "valid", _("valid (有效)")
    SUSPENDED = "suspended", _("suspended (暂扣)")
    REVOKED = "revoked", _("revoked (撤销)")
    CANCELLED = "cancelled", _("cancelled (注销)")
    EXPIRED = "expired", _("expired (失效)")


class License(models.Model):
    identifier = models.CharField(_("identifier (证照标识)"), max_length=96, unique=True)
    license_type = models.ForeignKey(LicenseType, on_delete=models.PROTECT, related_name="+")
    serial = models.PositiveIntegerField()
    version = models.CharField(max_length=3, default="001")
    holder_kind = models.CharField(max_length=16, choices=HolderKind.choices)
    holder_code_type = models.CharField(max_length=3)
    holder_name = models.CharField(_("holder"), max_length=200)
    holder_code_encrypted = models.TextField()
    holder_code_masked = models.CharField(max_length=32)
    holder_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    holder_enterprise = models.ForeignKey(
        "identity.Enterprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    issuer = models.ForeignKey("org.Department", on_delete=models.PROTECT, related_name="+")
    issued_on = models.DateField()
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALID)
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # The printed fields, [[label, value], ...], exactly as signed.
    data = models.JSONField(default=list)
    digest = models.CharField(_("SM3 of the license data"), max_length=64)
    signature = models.CharField(_("SM2 signature (hex)"), max_length=160)
    signing_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    pdf = models.FileField(upload_to="licenses/%Y/%m/", max_length=200)
    pdf_sm3 = models.CharField(max_length=64)
    application_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("e-license")
        verbose_name_plural = _("e-licenses")
        constraints = [
            models.UniqueConstraint(
                fields=["license_type", "serial", "version"], name="license_serial"
            ),
            models.UniqueConstraint(
                fields=["application_number", "license_type"],
                condition=~Q(application_number=""),
                name="license_one_per_application",
            ),
        ]
        indexes = [
            models.Index(fields=["holder_user", "license_type"], name="license_holder_user"),
            models.Index(
                fields=["holder_enterprise", "license_type"], name="license_holder_enterprise"
            ),
        ]

    def __str__(self) -> str:
        return self.identifier


class StatusChange(models.Model):
    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="changes")
    status_from = models.CharField(max_length=16, choices=Status.choices)
    status_to = models.CharField(max_length=16, choices=Status.choices)
    reason = models.CharField(max_length=500)
    actor = models.CharField(max_length=150)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.license_id}: {self.status_from} -> {self.status_to}"


class Channel(models.TextChoices):
    PAGE = "page", _("verification page")
    API = "api", _("API")
    PDF = "pdf", _("uploaded PDF")


class Verification(models.Model):
    """One verification. Append-only."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    identifier = models.CharField(max_length=128)
    license = models.ForeignKey(
        License, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    valid = models.BooleanField()
    reason = models.CharField(max_length=32, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.identifier} {self.valid}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("verification records are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("verification records are never deleted")
