"""Regions, departments, service halls (政务服务大厅) and windows (窗口)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from onewindow.kit import validators

PROVINCES_CACHE_KEY = "org:platform-provinces"
DEPARTMENT_IDS_CACHE_KEY = "org:department-ids:v2"  # v2: with the active ids


class RegionLevel(models.TextChoices):
    PROVINCE = validators.AREA_LEVEL_PROVINCE, _("province")
    CITY = validators.AREA_LEVEL_CITY, _("city")
    COUNTY = validators.AREA_LEVEL_COUNTY, _("county / district")


class Region(models.Model):
    """An administrative area identified by its GB/T 2260 code.

    ``is_fictional`` marks regions that do not exist (the demo's 示范省 uses the unassigned
    province code 99); they are accepted by this platform's validators but flagged in the UI.
    """

    code = models.CharField(
        _("area code"),
        max_length=6,
        primary_key=True,
        validators=[RegexValidator(r"^\d{6}$", _("An area code has 6 digits."))],
    )
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_fictional = models.BooleanField(_("fictional"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        extra = [self.code[:2]] if self.is_fictional else []
        result = validators.validate_area_code(self.code, extra_provinces=extra)
        if not result.valid:
            raise ValidationError({"code": result.reason})
        level = validators.area_level(self.code)
        if self.level != level:
            raise ValidationError(
                {
                    "level": _("The code %(code)s is a %(level)s-level code.")
                    % {"code": self.code, "level": RegionLevel(level).label}
                }
            )
        # The parent is the region one level up by code (110105 -> 110100 -> 110000) when
        # that region is in the table; a region whose parent is not recorded has none.
        expected = validators.area_parent_code(self.code)
        if expected and not Region.objects.filter(pk=expected).exists():
            expected = None
        if self.parent_id != expected:
            raise ValidationError(
                {
                    "parent": _("The parent of %(code)s must be %(parent)s.")
                    % {"code": self.code, "parent": expected or "-"}
                }
            )


class Department(models.Model):
    """A government department (部门). ``code`` is the stable key configuration refers to."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=32)
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="departments"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["region_id", "code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.uscc = validators.normalize_uscc(self.uscc)
        extra = []
        if self.region_id and self.region.is_fictional:
            extra.append(self.region_id[:2])
        result = validators.validate_uscc(self.uscc, extra_provinces=extra)
        if not result.valid:
            raise ValidationError({"uscc": result.reason})
        ancestor, seen = self.parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A department cannot be its own parent.")})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent


class ServiceHall(models.Model):
    """A physical service hall (政务服务大厅) where people are served at windows."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="halls"
    )
    managed_by = models.ForeignKey(
        Department, verbose_name=_("managed by"), on_delete=models.PROTECT, related_name="halls"
    )
    address = models.CharField(_("address"), max_length=200)
    opening_hours = models.CharField(_("opening hours"), max_length=200)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_accessible = models.BooleanField(
        _("barrier-free access"),
        default=True,
        help_text=_("Step-free entrance, accessible toilet and a lowered counter."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("service hall")
        verbose_name_plural = _("service halls")

    def __str__(self) -> str:
        return self.name


class WindowKind(models.TextChoices):
    COMPREHENSIVE = "comprehensive", _("comprehensive acceptance (综合受理)")
    DEPARTMENT = "department", _("department window")
    ASSISTED = "assisted", _("assisted service (帮办代办)")
    PICKUP = "pickup", _("results pick-up (出件)")


class Window(models.Model):
    """One counter in a hall; ``departments`` are the departments whose matters it accepts."""

    hall = models.ForeignKey(
        ServiceHall,
        verbose_name=_("service hall"),
        on_delete=models.CASCADE,
        related_name="windows",
    )
    number = models.CharField(_("number"), max_length=8)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=WindowKind.choices)
    departments = models.ManyToManyField(
        Department, verbose_name=_("departments"), blank=True, related_name="windows"
    )
    is_open = models.BooleanField(_("open"), default=True)

    class Meta:
        ordering = ["hall_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "number"], name="org_window_unique_number"),
        ]
        verbose_name = _("window")
        verbose_name_plural = _("windows")

    def __str__(self) -> str:
        return f"{self.number} {self.name}"
