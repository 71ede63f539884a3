"""Writes to the catalog: versions (draft -> published -> retired), the search index, and the
YAML import/export of the whole catalog."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.catalog import bundles, search
from onewindow.catalog.models import (
    Audience,
    Fee,
    HandlingType,
    ItemType,
    Level,
    LifeEvent,
    Material,
    MaterialForm,
    MaterialSource,
    Necessity,
    SearchEntry,
    ServiceItem,
    ServiceVersion,
    SynonymGroup,
    VersionStatus,
)
from onewindow.catalog.schema import Problem, condition_problems, parse_schema

FORMAT = "onewindow-catalog/1"
SYNONYMS_CACHE_KEY = "catalog:synonyms"
MAX_FILE_BYTES = 256 * 1024 * 1024  # aliases are refused; plain size is bounded here
ITEM_FIELDS = (
    "key",
    "name",
    "basic_code",
    "implementation_code",
    "item_type",
    "department",
    "level",
    "audience",
    "life_events",
    "high_frequency",
    "keywords",
)
VERSION_FIELDS = (
    "acceptance_conditions",
    "legal_limit_days",
    "promised_limit_days",
    "handling_type",
    "visits_required",
    "online",
    "location",
    "hours",
    "consult_phone",
    "complaint_phone",
    "legal_basis",
    "process",
    "process_definition",
    "result_name",
)
# Text attributes and their length limits (0: unlimited text), as the tables store them.
TEXT_LIMITS = {
    "key": 64,
    "name": 200,
    "basic_code": 12,
    "implementation_code": 40,
    "acceptance_conditions": 0,
    "location": 0,
    "hours": 200,
    "consult_phone": 100,
    "complaint_phone": 100,
    "legal_basis": 0,
    "process": 0,
    "process_definition": 64,
    "result_name": 100,
    "department": 32,
    "level": 16,
}
MATERIAL_LIMITS = {
    "key": 64,
    "name": 200,
    "required_if": 500,
    "license_type": 64,
    "acceptance_standard": 0,
    "blank_form": 300,
    "sample": 300,
}
MATERIAL_FIELDS = (
    "key",
    "name",
    "necessity",
    "required_if",
    "form",
    "copies",
    "source",
    "license_type",
    "acceptance_standard",
    "blank_form",
    "sample",
)
BASIC_CODE_RE = re.compile(r"^[0-9A-Z]{12}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


# --- versions -------------------------------------------------------------------------------


def version_content(version: ServiceVersion) -> dict[str, Any]:
    """The exported form of a version: guide fields, fees, materials, form."""
    content: dict[str, Any] = {name: getattr(version, name) for name in VERSION_FIELDS}
    content["fees"] = [
        {"name": f.name, "amount": f"{f.amount:.2f}", "basis": f.basis} for f in version.fees.all()
    ]
    content["materials"] = [
        {name: getattr(m, name) for name in MATERIAL_FIELDS} for m in version.materials.all()
    ]
    content["form"] = version.form_schema
    if version.bundle:
        content["bundle"] = version.bundle
    return content


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def version_create(*, item: ServiceItem, content: Mapping[str, Any]) -> ServiceVersion:
    """A new draft version of ``item`` with ``content`` (already validated)."""
    number = (item.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ServiceVersion(
        item=item,
        number=number,
        status=VersionStatus.DRAFT,
        **{name: content.get(name, "") for name in VERSION_FIELDS},
        form_schema=content.get("form") or {"fields": []},
        bundle=content.get("bundle") or {},
        content_hash=content_hash(_normal_content(content)),
    )
    version.full_clean(exclude=["content_hash"])
    version.save()
    for order, fee in enumerate(content.get("fees") or []):
        Fee.objects.create(
            version=version,
            name=fee["name"],
            amount=Decimal(str(fee["amount"])),
            basis=fee.get("basis", ""),
            order=order,
        )
    for order, spec in enumerate(content.get("materials") or []):
        Material.objects.create(
            version=version,
            order=order,
            **{name: spec.get(name, _MATERIAL_DEFAULTS.get(name, "")) for name in MATERIAL_FIELDS},
        )
    return version


_MATERIAL_DEFAULTS: dict[str, Any] = {
    "copies": 0,
    "source": MaterialSource.APPLICANT,
    "form": MaterialForm.ELECTRONIC,
}


def _audit_version(actor: str, action: str, version: ServiceVersion) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="catalog.serviceversion",
        object_id=version.pk,
        object_repr=f"{version.item.key} v{version.number}",
    )


@transaction.atomic
def version_publish(*, version: ServiceVersion, actor: str = SYSTEM_ACTOR) -> ServiceVersion:
    """Publish a draft: its schema and materials are checked, the previous published version
    is retired, and the search index is rebuilt for the item."""
    if version.status != VersionStatus.DRAFT:
        raise ValidationError(_("Only a draft can be published."))
    problems = version_problems(version)
    if problems:
        raise ValidationError([f"{p.path}: {p.reason}" for p in problems])
    version.full_clean(exclude=["content_hash"])
    # Drafts may have been edited (in the console) since they were created.
    ServiceVersion.objects.filter(pk=version.pk).update(
        content_hash=content_hash(version_content(version))
    )
    now = timezone.now()
    for old in ServiceVersion.objects.select_for_update().filter(
        item=version.item, status=VersionStatus.PUBLISHED
    ):
        old.status = VersionStatus.RETIRED
        old.retired_at = now
        old.save(update_fields=["status", "retired_at"])
    ServiceVersion.objects.filter(pk=version.pk).update(
        status=VersionStatus.PUBLISHED, published_at=now
    )
    version.refresh_from_db()
    search_entry_refresh(item=version.item)
    _audit_version(actor, "catalog.publish", version)
    return version


@transaction.atomic
def version_retire(*, version: ServiceVersion, actor: str = SYSTEM_ACTOR) -> ServiceVersion:
    """Withdraw a published version: the item leaves the catalog until a new one is published."""
    if version.status != VersionStatus.PUBLISHED:
        raise ValidationError(_("Only the published version can be retired."))
    version.status = VersionStatus.RETIRED
    version.retired_at = timezone.now()
    version.save(update_fields=["status", "retired_at"])
    SearchEntry.objects.filter(item=version.item).delete()
    _audit_version(actor, "catalog.retire", version)
    return version


@transaction.atomic
def version_draft_from(*, version: ServiceVersion, actor: str = SYSTEM_ACTOR) -> ServiceVersion:
    """Start editing: a new draft copying ``version`` (published versions stay as they are)."""
    draft = version_create(item=version.item, content=version_content(version))
    _audit_version(actor, "catalog.draft", draft)
    return draft


def version_problems(version: ServiceVersion) -> list[Problem]:
    schema, problems = parse_schema(version.form_schema)
    for material in version.materials.all():
        path = f"materials[{material.key}]"
        if material.necessity == Necessity.CONDITIONAL:
            if not material.required_if:
                problems.append(
                    Problem(f"{path}.required_if", _("A conditional material needs a condition."))
                )
            problems += condition_problems(material.required_if, f"{path}.required_if", schema)
        if material.source == MaterialSource.LICENSE and not material.license_type:
            problems.append(
                Problem(
                    f"{path}.license_type",
                    _("Name the e-license type that provides this material."),
                )
            )
    return problems


# --- search index ---------------------------------------------------------------------------


def search_entry_refresh(*, item: ServiceItem) -> None:
    version = item.published_version()
    if version is None or not item.is_active:
        SearchEntry.objects.filter(item=item).delete()
        return
    name_terms = search.index_terms([item.name, *item.keywords])
    body_terms = search.index_terms(
        [
            version.acceptance_conditions,
            version.process,
            version.result_name,
            item.department.name,
            *(m.name for m in version.materials.all()),
        ]
    )
    SearchEntry.objects.update_or_create(
        item=item, defaults={"name_terms": name_terms, "body_terms": body_terms}
    )


# --- import / export ------------------------------------------------------------------------


@dataclass
class ImportProblem:
    item: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.path}: {self.reason}"


@dataclass
class ImportReport:
    problems: list[ImportProblem] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class CatalogImportError(Exception):
    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.problems)} problems; nothing was changed")
        self.report = report


Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def _no_progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    return items


def _check_item(
    spec: Any, index: int, departments: set[str], life_events: set[str]
) -> tuple[str, list[ImportProblem]]:
    label = spec.get("key") if isinstance(spec, Mapping) and spec.get("key") else f"#{index + 1}"
    label = str(label)
    problems: list[ImportProblem] = []

    def bad(path: str, reason: str) -> None:
        problems.append(ImportProblem(label, path, reason))

    if not isinstance(spec, Mapping):
        bad("", _("An item must be a mapping."))
        return label, problems
    known = set(ITEM_FIELDS) | set(VERSION_FIELDS) | {"fees", "materials", "form"}
    for name in sorted(set(spec) - known):
        bad(name, _("Unknown attribute."))
    for name in (
        "key",
        "name",
        "basic_code",
        "item_type",
        "department",
        "audience",
        "acceptance_conditions",
        "legal_limit_days",
        "promised_limit_days",
        "handling_type",
        "location",
        "hours",
        "consult_phone",
        "complaint_phone",
        "legal_basis",
        "process",
        "form",
    ):
        if spec.get(name) in (None, "", []):
            bad(name, _("This is required."))
    if spec.get("key") and not KEY_RE.match(str(spec["key"])):
        bad("key", _("Lower-case letters, digits and underscores, starting with a letter."))
    if spec.get("basic_code") and not BASIC_CODE_RE.match(str(spec["basic_code"])):
        bad("basic_code", _("A basic code has 12 digits or capital letters."))
    if spec.get("item_type") and str(spec["item_type"]) not in ItemType.values:
        bad(
            "item_type",
            _("Use a national item type code: %(codes)s.") % {"codes": ", ".join(ItemType.values)},
        )
    if spec.get("level", "city") not in Level.values:
        bad("level", _("Use one of: %(values)s.") % {"values": ", ".join(Level.values)})
    if spec.get("department") and spec["department"] not in departments:
        bad("department", _("No department has this code."))
    audience = spec.get("audience") or []
    if not isinstance(audience, list) or not set(audience) <= set(Audience.values):
        bad("audience", _("List natural_person and/or legal_person."))
    for event in spec.get("life_events") or []:
        if event not in life_events:
            bad("life_events", _("Unknown life event %(code)r.") % {"code": event})
    days: dict[str, int] = {}
    for name in ("legal_limit_days", "promised_limit_days", "visits_required"):
        value = spec.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 3650:
            bad(name, _("A whole number of working days, 0 or more."))
        else:
            days[name] = value
    if {"legal_limit_days", "promised_limit_days"} <= days.keys() and (
        days["promised_limit_days"] > days["legal_limit_days"]
    ):
        bad(
            "promised_limit_days",
            _("The promised time limit (%(p)d) cannot exceed the legal one (%(l)d).")
            % {"p": days["promised_limit_days"], "l": days["legal_limit_days"]},
        )
    handling = spec.get("handling_type")
    if handling and handling not in HandlingType.values:
        bad("handling_type", _("Use instant or commitment."))
    elif handling == HandlingType.INSTANT and days.get("promised_limit_days", 0) != 0:
        bad("promised_limit_days", _("An on-the-spot item has a promised time limit of 0."))
    elif handling == HandlingType.COMMITMENT and days.get("promised_limit_days") == 0:
        bad("promised_limit_days", _("A commitment item needs a promised time limit."))
    for name, limit in TEXT_LIMITS.items():
        value = spec.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            bad(name, _("This must be text."))
        elif limit and len(value) > limit:
            bad(name, _("At most %(n)d characters.") % {"n": limit})
    for name in ("high_frequency", "online"):
        if name in spec and not isinstance(spec[name], bool):
            bad(name, _("Write true or false."))
    keywords = spec.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        bad("keywords", _("A list of words."))
    form = spec.get("form")
    try:
        json.dumps(form, allow_nan=False)
    except (TypeError, ValueError):
        bad("form", _("The form may hold only text, numbers, true/false and lists."))
    schema, schema_problems = parse_schema(spec.get("form"))
    for p in schema_problems:
        bad(f"form.{p.path}", p.reason)
    fees = spec.get("fees") or []
    if not isinstance(fees, list):
        bad("fees", _("This must be a list."))
        fees = []
    for i, fee in enumerate(fees):
        try:
            if (
                not isinstance(fee, Mapping)
                or not isinstance(fee.get("name"), str)
                or not fee["name"]
                or set(fee) - {"name", "amount", "basis"}
                or not isinstance(fee.get("basis", ""), str)
                or not Decimal(str(fee.get("amount"))).is_finite()
                or Decimal(str(fee.get("amount"))) < 0
            ):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            bad(f"fees[{i}]", _("A fee needs a name and an amount of 0 or more."))
    materials = spec.get("materials") or []
    if not isinstance(materials, list):
        bad("materials", _("This must be a list."))
        materials = []
    seen: set[str] = set()
    for i, material in enumerate(materials):
        if not isinstance(material, Mapping):
            bad(f"materials[{i}]", _("A material must be a mapping."))
            continue
        path = f"materials[{i}:{material.get('key', '?')}]"
        for name in sorted(set(material) - set(MATERIAL_FIELDS)):
            bad(f"{path}.{name}", _("Unknown attribute."))
        key = str(material.get("key", ""))
        if not KEY_RE.match(key):
            bad(
                f"{path}.key",
                _("Lower-case letters, digits and underscores, starting with a letter."),
            )
        elif key in seen:
            bad(f"{path}.key", _("The key is used twice."))
        seen.add(key)
        if not material.get("name"):
            bad(f"{path}.name", _("This is required."))
        for name, limit in MATERIAL_LIMITS.items():
            value = material.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                bad(f"{path}.{name}", _("This must be text."))
            elif limit and len(value) > limit:
                bad(f"{path}.{name}", _("At most %(n)d characters.") % {"n": limit})
        if material.get("necessity") not in Necessity.values:
            bad(f"{path}.necessity", _("Use required, conditional or optional."))
        if material.get("form", MaterialForm.ELECTRONIC) not in MaterialForm.values:
            bad(f"{path}.form", _("Use electronic, paper or both."))
        if material.get("source", MaterialSource.APPLICANT) not in MaterialSource.values:
            bad(f"{path}.source", _("Use applicant or license."))
        if material.get("necessity") == Necessity.CONDITIONAL and not material.get("required_if"):
            bad(f"{path}.required_if", _("A conditional material needs a condition."))
        if material.get("required_if"):
            for p in condition_problems(material["required_if"], f"{path}.required_if", schema):
                bad(p.path, p.reason)
        if material.get("source") == MaterialSource.LICENSE and not material.get("license_type"):
            bad(f"{path}.license_type", _("Name the e-license type that provides this material."))
        copies = material.get("copies", 0)
        if not isinstance(copies, int) or isinstance(copies, bool) or not 0 <= copies <= 20:
            bad(f"{path}.copies", _("A whole number from 0 to 20."))
    return label, problems


def _normal_content(spec: Mapping[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {
        "acceptance_conditions": spec.get("acceptance_conditions", ""),
        "legal_limit_days": spec.get("legal_limit_days", 0),
        "promised_limit_days": spec.get("promised_limit_days", 0),
        "handling_type": spec.get("handling_type", ""),
        "visits_required": spec.get("visits_required", 0),
        "online": bool(spec.get("online", True)),
        "location": spec.get("location", ""),
        "hours": spec.get("hours", ""),
        "consult_phone": str(spec.get("consult_phone", "")),
        "complaint_phone": str(spec.get("complaint_phone", "")),
        "legal_basis": spec.get("legal_basis", ""),
        "process": spec.get("process", ""),
        "process_definition": spec.get("process_definition", "") or "",
        "result_name": spec.get("result_name", "") or "",
    }
    content["fees"] = [
        {
            "name": f["name"],
            "amount": f"{Decimal(str(f['amount'])):.2f}",
            "basis": f.get("basis", ""),
        }
        for f in spec.get("fees") or []
    ]
    content["materials"] = [
        {
            name: _or_default(m.get(name), _MATERIAL_DEFAULTS.get(name, ""))
            for name in MATERIAL_FIELDS
        }
        for m in spec.get("materials") or []
    ]
    content["form"] = spec.get("form") or {"fields": []}
    if spec.get("bundle"):
        content["bundle"] = spec["bundle"]
    return content


def _or_default(value: Any, default: Any) -> Any:
    return default if value is None else value


def catalog_validate(data: Any, *, progress: Progress = _no_progress) -> ImportReport:
    """Every problem in a catalog file, naming item, field and reason; changes nothing."""
    from onewindow.org.models import Department

    report = ImportReport()
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        report.problems.append(
            ImportProblem("-", "format", _("Not a catalog file (format: %(f)s).") % {"f": FORMAT})
        )
        return report
    for name in sorted(set(data) - {"format", "life_events", "synonyms", "items", "bundles"}):
        report.problems.append(ImportProblem("-", name, _("Unknown attribute.")))
    events = data.get("life_events") or []
    event_codes = {str(e.get("code")) for e in events if isinstance(e, Mapping)}
    event_codes |= set(LifeEvent.objects.values_list("code", flat=True))
    for i, event in enumerate(events):
        if (
            not isinstance(event, Mapping)
            or not event.get("code")
            or not event.get("name")
            or (event.get("audience") not in Audience.values)
        ):
            report.problems.append(
                ImportProblem(
                    "-",
                    f"life_events[{i}]",
                    _("A life event needs a code, a name and an audience."),
                )
            )
    synonyms = data.get("synonyms", [])
    if not isinstance(synonyms, list) or not all(
        isinstance(g, list) and len(g) >= 2 and all(isinstance(t, str) and t for t in g)
        for g in synonyms
    ):
        report.problems.append(
            ImportProblem("-", "synonyms", _("Synonyms are a list of groups of two or more words."))
        )
    items = data.get("items")
    if not isinstance(items, list):
        report.problems.append(ImportProblem("-", "items", _("A catalog needs a list of items.")))
        return report
    usccs = dict(Department.objects.values_list("code", "uscc"))
    departments = set(usccs)
    keys: dict[str, int] = {}
    codes: dict[str, int] = {}
    for index, spec in enumerate(progress(items, "checking")):
        label, problems = _check_item(spec, index, departments, event_codes)
        report.problems += problems
        if not isinstance(spec, Mapping):
            continue
        code = spec.get("implementation_code") or (
            f"{usccs.get(str(spec.get('department')), '')}{spec.get('basic_code', '')}001"
        )
        for seen, name, value in (
            (keys, "key", spec.get("key")),
            (codes, "implementation_code", code),
        ):
            if value and value in seen:
                report.problems.append(
                    ImportProblem(
                        label, name, _("Also used by item #%(n)d.") % {"n": seen[value] + 1}
                    )
                )
            elif value:
                seen[value] = index
    # An implementation code may not belong to another item already in the catalog.
    taken = dict(
        ServiceItem.objects.filter(implementation_code__in=list(codes)).values_list(
            "implementation_code", "key"
        )
    )
    for code, index in codes.items():
        spec = items[index]
        if code in taken and taken[code] != spec.get("key"):
            report.problems.append(
                ImportProblem(
                    str(spec.get("key")),
                    "implementation_code",
                    _("Already used by the item %(key)s.") % {"key": taken[code]},
                )
            )
    report.problems += _check_bundles(data.get("bundles"), items, keys, usccs, event_codes)
    return report


def _bundle_code(spec: Mapping[str, Any], usccs: Mapping[str, str]) -> str:
    department = str(spec.get("department") or bundles.DEFAULT_DEPARTMENT)
    return str(
        spec.get("implementation_code")
        or f"{usccs.get(department, '')}{spec.get('basic_code', '')}001"
    )


def _member_from_file(spec: Mapping[str, Any]) -> bundles.Member:
    return bundles.Member(
        key=str(spec["key"]),
        name=str(spec.get("name", "")),
        department=str(spec.get("department", "")),
        audience=tuple(spec.get("audience") or ()),
        version=0,
        content=_normal_content(spec),
    )


def _member_from_catalog(item: ServiceItem) -> bundles.Member | None:
    version = item.published_version()
    if version is None or item.is_bundle:
        return None
    return bundles.Member(
        key=item.key,
        name=item.name,
        department=item.department.code,
        audience=tuple(item.audiences()),
        version=version.number,
        content=version_content(version),
    )


def _check_bundles(
    raw: Any,
    items: list[Any],
    item_keys: Mapping[str, int],
    usccs: Mapping[str, str],
    event_codes: set[str],
) -> list[ImportProblem]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [ImportProblem("-", "bundles", _("Bundles are a list."))]
    problems: list[ImportProblem] = []
    in_file = {str(s.get("key")): s for s in items if isinstance(s, Mapping)}
    seen: set[str] = set()
    for index, spec in enumerate(raw):
        label = str(
            spec.get("key")
            if isinstance(spec, Mapping) and spec.get("key")
            else f"bundle #{index + 1}"
        )
        structure = bundles.check_spec(spec, set(usccs), event_codes)
        problems += [ImportProblem(label, path, reason) for path, reason in structure]
        if not isinstance(spec, Mapping) or any(p[0] in ("", "members") for p in structure):
            continue
        key = str(spec.get("key"))
        ordinary = ServiceItem.objects.filter(key=key, is_bundle=False).exists()
        if key in item_keys or key in seen or ordinary:
            problems.append(ImportProblem(label, "key", _("Also used by an item or bundle.")))
        seen.add(key)
        taken = (
            ServiceItem.objects.filter(implementation_code=_bundle_code(spec, usccs))
            .exclude(key=key)
            .first()
        )
        if taken is not None:
            problems.append(
                ImportProblem(
                    label,
                    "implementation_code",
                    _("Already used by the item %(key)s.") % {"key": taken.key},
                )
            )
        members: list[bundles.Member] = []
        for entry in bundles.member_specs(spec):
            member_key = str(entry["item"])
            member = None
            if member_key in in_file:
                member = _member_from_file(in_file[member_key])
            else:
                row = (
                    ServiceItem.objects.filter(key=member_key, is_active=True)
                    .select_related("department")
                    .first()
                )
                member = _member_from_catalog(row) if row is not None else None
            if member is None:
                problems.append(
                    ImportProblem(
                        label, f"members.{member_key}", _("No published item has this key.")
                    )
                )
            else:
                members.append(member)
        if len(members) == len(bundles.member_specs(spec)):
            merged = bundles.merge(spec, members)
            problems += [ImportProblem(label, path, reason) for path, reason in merged.problems]
    return problems


def _import_bundle(
    spec: Mapping[str, Any],
    departments: Mapping[str, Any],
    events: Mapping[str, LifeEvent],
    actor: str,
    report: ImportReport,
) -> None:
    department = departments[str(spec.get("department") or bundles.DEFAULT_DEPARTMENT)]
    members = []
    for entry in bundles.member_specs(spec):
        row = ServiceItem.objects.select_related("department").get(key=entry["item"])
        member = _member_from_catalog(row)
        assert member is not None  # noqa: S101 - checked by catalog_validate
        members.append(member)
    content = bundles.merge(spec, members).content
    item = ServiceItem.objects.filter(key=spec["key"]).first()
    created = item is None
    item = item or ServiceItem(key=spec["key"])
    item.name = spec["name"]
    item.basic_code = spec["basic_code"]
    item.implementation_code = _bundle_code(spec, {department.code: department.uscc})
    item.item_type = ItemType.PUBLIC_SERVICE
    item.department = department
    item.level = Level.CITY
    item.serves_individuals = Audience.NATURAL_PERSON in spec["audience"]
    item.serves_organisations = Audience.LEGAL_PERSON in spec["audience"]
    item.high_frequency = bool(spec.get("high_frequency", False))
    item.keywords = list(spec.get("keywords") or [])
    item.is_bundle = True
    item.is_active = True
    item.save()
    item.life_events.set([events[c] for c in spec.get("life_events") or []])
    _publish_if_changed(item, content, created, actor, report)


def _publish_if_changed(
    item: ServiceItem,
    content: Mapping[str, Any],
    created: bool,
    actor: str,
    report: ImportReport,
) -> None:
    """A new version, published at once, unless the published one has the same content."""
    current = item.published_version()
    if current is not None and current.content_hash == content_hash(_normal_content(content)):
        search_entry_refresh(item=item)  # the name or keywords may have changed
        report.unchanged += 1
        return
    version = version_create(item=item, content=content)
    version_publish(version=version, actor=actor)
    if created:
        report.created += 1
    else:
        report.updated += 1


@transaction.atomic
def catalog_import(
    data: Any, *, actor: str = SYSTEM_ACTOR, progress: Progress = _no_progress
) -> ImportReport:
    """Import a whole catalog. All or nothing: any problem raises ``CatalogImportError`` with
    the full report and leaves the catalog as it was. Items whose content is unchanged keep
    their published version; changed ones get a new version, published at once."""
    from onewindow.org.models import Department

    report = catalog_validate(data, progress=progress)
    if report.problems:
        raise CatalogImportError(report)
    for event in data.get("life_events") or []:
        LifeEvent.objects.update_or_create(
            code=event["code"],
            defaults={
                "name": event["name"],
                "audience": event["audience"],
                "order": event.get("order", 0),
                "description": event.get("description", ""),
            },
        )
    if data.get("synonyms") is not None:
        SynonymGroup.objects.all().delete()
        for group in data["synonyms"]:
            SynonymGroup.objects.create(terms=list(group))
        transaction.on_commit(lambda: cache.delete(SYNONYMS_CACHE_KEY))
    departments = {d.code: d for d in Department.objects.all()}
    events = {e.code: e for e in LifeEvent.objects.all()}
    for spec in progress(data["items"], "importing"):
        department = departments[spec["department"]]
        item = ServiceItem.objects.filter(key=spec["key"]).first()
        created = item is None
        item = item or ServiceItem(key=spec["key"])
        item.name = spec["name"]
        item.basic_code = spec["basic_code"]
        item.implementation_code = spec.get("implementation_code") or (
            f"{department.uscc}{spec['basic_code']}001"
        )
        item.item_type = str(spec["item_type"])
        item.department = department
        item.level = spec.get("level", Level.CITY)
        item.serves_individuals = Audience.NATURAL_PERSON in spec["audience"]
        item.serves_organisations = Audience.LEGAL_PERSON in spec["audience"]
        item.high_frequency = bool(spec.get("high_frequency", False))
        item.keywords = list(spec.get("keywords") or [])
        item.is_bundle = False  # a key that was a bundle's is an ordinary item now
        item.is_active = True
        item.save()
        item.life_events.set([events[c] for c in spec.get("life_events") or []])
        _publish_if_changed(item, _normal_content(spec), created, actor, report)
    for spec in data.get("bundles") or []:
        _import_bundle(spec, departments, events, actor, report)
    audit_record(
        actor=actor,
        action="catalog.import",
        object_type="catalog",
        detail={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        },
    )
    return report


def catalog_export() -> dict[str, Any]:
    """The whole published catalog as data (``catalog_export_yaml`` writes it)."""
    items = []
    for item in (
        ServiceItem.objects.filter(
            is_active=True, is_bundle=False, versions__status=VersionStatus.PUBLISHED
        )
        .select_related("department")
        .prefetch_related("life_events")
        .order_by("key")
    ):
        version = item.published_version()
        assert version is not None  # noqa: S101 - filtered above
        entry: dict[str, Any] = {
            "key": item.key,
            "name": item.name,
            "basic_code": item.basic_code,
            "implementation_code": item.implementation_code,
            "item_type": item.item_type,
            "department": item.department.code,
            "level": item.level,
            "audience": item.audiences(),
            "life_events": sorted(e.code for e in item.life_events.all()),
            "high_frequency": item.high_frequency,
            "keywords": list(item.keywords),
        }
        entry.update(version_content(version))
        items.append(entry)
    return {
        "format": FORMAT,
        "life_events": [
            {
                "code": e.code,
                "name": e.name,
                "audience": e.audience,
                "order": e.order,
                "description": e.description,
            }
            for e in LifeEvent.objects.all()
        ],
        "synonyms": [list(g.terms) for g in SynonymGroup.objects.order_by("id")],
        "items": items,
        "bundles": [
            version.bundle["spec"]
            for version in ServiceVersion.objects.filter(
                item__is_bundle=True, item__is_active=True, status=VersionStatus.PUBLISHED
            ).order_by("item__key")
        ],
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # never write anchors: the loader refuses aliases


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def catalog_export_yaml() -> str:
    return yaml.dump(
        catalog_export(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000
    )


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a small file cannot expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a catalog file", event.start_mark
            )
        return super().compose_node(parent, index)


def catalog_load_yaml(text: str) -> Any:
    """Parse a catalog file; a YAML syntax error becomes a one-line report."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        report = ImportReport(
            problems=[
                ImportProblem(
                    "-",
                    "file",
                    _("The file is larger than %(n)d MB.") % {"n": MAX_FILE_BYTES // 2**20},
                )
            ]
        )
        raise CatalogImportError(report)
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        report = ImportReport(problems=[ImportProblem("-", where, f"YAML: {exc}")])
        raise CatalogImportError(report) from exc


def terminal_progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    """A progress bar on stderr (tqdm) when it is a terminal or when the file is large."""
    from tqdm import tqdm

    sequence = list(items)
    interactive = sys.stderr.isatty()
    return tqdm(
        sequence,
        desc=label,
        unit="item",
        file=sys.stderr,
        disable=len(sequence) < 200 and not interactive,
        mininterval=0.2 if interactive else 10.0,  # a log file gets a line every 10 s
    )


@transaction.atomic
def items_delete(*, department_codes: Iterable[str]) -> int:
    """Remove items and all their versions (demo reset only: real catalogs retire versions)."""
    deleted, _ = ServiceItem.objects.filter(department__code__in=list(department_codes)).delete()
    return deleted
