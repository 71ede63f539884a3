"""Data quality (数据质量): checks per dataset, each giving a count and a few masked examples.

The checks, where they apply:

* ``check_digits`` — identifiers whose check character is wrong: the population registry's ID
  numbers (decrypted here, never shown: examples are masked ``990***********1234``), the legal
  entity registry's USCCs, and the subject keys of enterprise records. Rows written through an
  import are checked on the way in; this finds what bypassed it (legacy loads, direct inserts).
* ``duplicates`` — the same subject twice: in the population registry, people with the same
  name, date of birth and household address under different ID numbers (candidates for a
  merge); in the legal entity registry, one name under several USCCs; in enterprise records,
  two records whose keys are the same USCC once normalised (case, spaces).
* ``stale`` — records older than the dataset's promised update frequency allows.
* ``deceased_with_benefits`` — in a benefit dataset (one with a field of the element
  ``benefit.status``), an active benefit of a person the population registry lists as deceased.

``quality_report(dataset_key=None, examples=5)`` runs every applicable check. Read-only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onewindow.datahub.keys import ID_NUMBER_PURPOSE
from onewindow.datahub.models import (
    Dataset,
    DatasetRecord,
    LegalEntity,
    LifeStatus,
    Person,
    Source,
    SubjectType,
    UpdateFrequency,
)
from onewindow.identity import crypto
from onewindow.kit import validators
from onewindow.kit.crypto import KeyringError
from onewindow.kit.masking import mask_id_number, mask_name
from onewindow.org.selectors import platform_province_prefixes

CHECK_DIGITS = "check_digits"
DUPLICATES = "duplicates"
STALE = "stale"
DECEASED_WITH_BENEFITS = "deceased_with_benefits"

CHECK_LABELS: dict[str, Promise] = {
    CHECK_DIGITS: gettext_lazy("invalid check digits"),
    DUPLICATES: gettext_lazy("duplicates"),
    STALE: gettext_lazy("older than the promised update frequency"),
    DECEASED_WITH_BENEFITS: gettext_lazy("deceased persons with active benefits"),
}

# How old (in days) a record may be under each promised update frequency.
MAX_AGE_DAYS = {
    UpdateFrequency.REALTIME: 1,
    UpdateFrequency.DAILY: 1,
    UpdateFrequency.WEEKLY: 7,
    UpdateFrequency.MONTHLY: 31,
    UpdateFrequency.QUARTERLY: 92,
}
BENEFIT_STATUS_ELEMENT = "benefit.status"
BENEFIT_ACTIVE = "active"
DEFAULT_EXAMPLES = 5

PersonInfo = dict[str, tuple[str, dt.date | None, str]]


@dataclass(frozen=True)
class Example:
    subject: str  # masked: never a clear ID number or a person's full name
    detail: str


@dataclass
class CheckResult:
    check: str
    count: int = 0
    examples: list[Example] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(CHECK_LABELS[self.check])

    def add(self, example: Example, limit: int) -> None:
        self.count += 1
        if len(self.examples) < limit:
            self.examples.append(example)


@dataclass
class DatasetQuality:
    key: str
    name: str
    rows: int
    checks: list[CheckResult]

    @property
    def defects(self) -> int:
        return sum(c.count for c in self.checks)

    def count(self, check: str) -> int | None:
        return next((c.count for c in self.checks if c.check == check), None)


def quality_report(
    *,
    dataset_key: str | None = None,
    examples: int = DEFAULT_EXAMPLES,
    today: dt.date | None = None,
) -> list[DatasetQuality]:
    """The checks of every active dataset (or of one); raises ``Dataset.DoesNotExist`` for an
    unknown key."""
    today = today or timezone.localdate()
    limit = max(0, examples)
    datasets = Dataset.objects.filter(is_active=True).order_by("key")
    if dataset_key is not None:
        datasets = datasets.filter(key=dataset_key)
        if not datasets.exists():
            raise Dataset.DoesNotExist(dataset_key)
    report = []
    for dataset in datasets:
        if dataset.source == Source.POPULATION:
            rows = Person.objects.count()
            checks = [_population_check_digits(limit), _population_duplicates(limit)]
        elif dataset.source == Source.LEGAL_ENTITY:
            rows = LegalEntity.objects.count()
            checks = [_entity_check_digits(limit), _entity_duplicates(limit)]
        else:
            rows = dataset.records.count()
            checks = _records_checks(dataset, limit, today)
        report.append(DatasetQuality(dataset.key, dataset.name, rows, checks))
    return report


# --- the registries ---------------------------------------------------------------------------


def _person_label(name: str, birth_date: dt.date | None) -> str:
    return f"{mask_name(name)} ({birth_date:%Y})" if birth_date else mask_name(name)


def _population_check_digits(limit: int) -> CheckResult:
    result = CheckResult(CHECK_DIGITS)
    ring = crypto.keyring()
    extra = platform_province_prefixes()
    rows = Person.objects.order_by("pk").values_list("id_number_encrypted", "name", "birth_date")
    for encrypted, name, birth_date in rows.iterator(chunk_size=2000):
        try:
            id_number = ring.decrypt(encrypted, purpose=ID_NUMBER_PURPOSE)
        except KeyringError:
            result.add(Example(_person_label(name, birth_date), _("cannot be decrypted")), limit)
            continue
        check = validators.validate_id_number(id_number, extra_provinces=extra)
        if not check.valid:
            result.add(
                Example(
                    f"{mask_id_number(id_number)} {mask_name(name)}",
                    f"{check.rule}: {check.reason}",
                ),
                limit,
            )
    return result


def _population_duplicates(limit: int) -> CheckResult:
    result = CheckResult(DUPLICATES)
    groups = (
        Person.objects.values("name", "birth_date", "household_address")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("name", "birth_date", "household_address")
    )
    for group in groups:
        result.add(
            Example(
                _person_label(group["name"], group["birth_date"]),
                _("%(n)d registrations with the same name, date of birth and household address")
                % {"n": group["n"]},
            ),
            limit,
        )
    return result


def _entity_check_digits(limit: int) -> CheckResult:
    result = CheckResult(CHECK_DIGITS)
    extra = platform_province_prefixes()
    for uscc, name in LegalEntity.objects.order_by("pk").values_list("uscc", "name").iterator():
        check = validators.validate_uscc(uscc, extra_provinces=extra)
        if not check.valid:
            result.add(Example(f"{uscc} {name}", f"{check.rule}: {check.reason}"), limit)
    return result


def _entity_duplicates(limit: int) -> CheckResult:
    result = CheckResult(DUPLICATES)
    names = (
        LegalEntity.objects.values("name").annotate(n=Count("pk")).filter(n__gt=1).order_by("name")
    )
    usccs: dict[str, list[str]] = defaultdict(list)
    for name, uscc in (
        LegalEntity.objects.filter(name__in=[g["name"] for g in names])
        .order_by("uscc")
        .values_list("name", "uscc")
    ):
        usccs[name].append(uscc)
    for group in names:
        result.add(
            Example(
                group["name"],
                _("one name under %(n)d codes: %(codes)s")
                % {"n": group["n"], "codes": ", ".join(usccs[group["name"]])},
            ),
            limit,
        )
    return result


# --- department-provided records ------------------------------------------------------------


def _records_checks(dataset: Dataset, limit: int, today: dt.date) -> list[CheckResult]:
    enterprise = dataset.subject_type == SubjectType.ENTERPRISE
    checks = []
    if enterprise:
        checks += [_records_check_digits(dataset, limit), _records_duplicates(dataset, limit)]
    checks.append(_records_stale(dataset, limit, today))
    if not enterprise and dataset.fields.filter(element__key=BENEFIT_STATUS_ELEMENT).exists():
        checks.append(_deceased_with_benefits(dataset, limit))
    return checks


def _persons_by_hash(hashes: Iterable[str]) -> PersonInfo:
    """``{look-up hash: (name, birth date, status)}`` (no decryption)."""
    found: PersonInfo = {}
    wanted = sorted(set(hashes))
    for start in range(0, len(wanted), 1000):
        for key, name, birth_date, status in Person.objects.filter(
            id_number_hash__in=wanted[start : start + 1000]
        ).values_list("id_number_hash", "name", "birth_date", "status"):
            found[key] = (name, birth_date, status)
    return found


def _subject_label(
    dataset: Dataset, key: str, persons: dict[str, tuple[str, dt.date | None, str]]
) -> str:
    if dataset.subject_type == SubjectType.ENTERPRISE:
        return key
    person = persons.get(key)
    return _person_label(person[0], person[1]) if person else _("(not in the registry)")


def _records_check_digits(dataset: Dataset, limit: int) -> CheckResult:
    result = CheckResult(CHECK_DIGITS)
    extra = platform_province_prefixes()
    keys = dataset.records.order_by("pk").values_list("subject_key", flat=True)
    for key in keys.iterator():
        check = validators.validate_uscc(key, extra_provinces=extra)
        if not check.valid:
            result.add(Example(key, f"{check.rule}: {check.reason}"), limit)
    return result


def _records_duplicates(dataset: Dataset, limit: int) -> CheckResult:
    result = CheckResult(DUPLICATES)
    keys: dict[str, list[str]] = defaultdict(list)
    for key in dataset.records.order_by("pk").values_list("subject_key", flat=True).iterator():
        keys[validators.normalize_uscc(key)].append(key)
    for normal, variants in sorted(keys.items()):
        if len(variants) > 1:
            result.add(
                Example(
                    normal,
                    _("%(n)d records for one subject, keyed %(keys)s")
                    % {"n": len(variants), "keys": ", ".join(repr(v) for v in variants)},
                ),
                limit,
            )
    return result


def _records_stale(dataset: Dataset, limit: int, today: dt.date) -> CheckResult:
    result = CheckResult(STALE)
    max_age = MAX_AGE_DAYS[UpdateFrequency(dataset.update_frequency)]
    oldest_allowed = today - dt.timedelta(days=max_age)
    stale = dataset.records.filter(as_of__lt=oldest_allowed).order_by("as_of", "pk")
    result.count = stale.count()
    sample = list(stale.values_list("subject_key", "as_of")[:limit])
    persons = _persons_by_hash(k for k, _a in sample) if not _is_enterprise(dataset) else {}
    for key, as_of in sample:
        result.examples.append(
            Example(
                _subject_label(dataset, key, persons),
                _("as of %(as_of)s, %(days)d days old (at most %(max)d allowed)")
                % {"as_of": as_of.isoformat(), "days": (today - as_of).days, "max": max_age},
            )
        )
    return result


def _is_enterprise(dataset: Dataset) -> bool:
    return dataset.subject_type == SubjectType.ENTERPRISE


def _deceased_with_benefits(dataset: Dataset, limit: int) -> CheckResult:
    result = CheckResult(DECEASED_WITH_BENEFITS)
    status_field = dataset.fields.filter(element__key=BENEFIT_STATUS_ELEMENT).values_list(
        "name", flat=True
    )[0]
    deceased = Person.objects.filter(status=LifeStatus.DECEASED)
    records = (
        DatasetRecord.objects.filter(
            dataset=dataset,
            subject_key__in=deceased.values("id_number_hash"),
            **{f"values__{status_field}": BENEFIT_ACTIVE},
        )
        .order_by("pk")
        .values_list("subject_key", "as_of")
    )
    deaths = dict(
        deceased.filter(id_number_hash__in=[k for k, _a in records[:limit]]).values_list(
            "id_number_hash", "death_date"
        )
    )
    persons = _persons_by_hash(deaths)
    result.count = records.count()
    for key, as_of in records[:limit]:
        died = deaths.get(key)
        result.examples.append(
            Example(
                _subject_label(dataset, key, persons),
                _("died %(died)s; benefit still active as of %(as_of)s")
                % {"died": died.isoformat() if died else "?", "as_of": as_of.isoformat()},
            )
        )
    return result
