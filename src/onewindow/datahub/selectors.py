"""Reads of the data hub.

``dataset_read`` is the one way to read a subject's data: it takes the acting subject, the
case and the purpose, applies the sharing catalog, the agreement and consent, masks sensitive
fields, and leaves exactly one access-log row per call — allowed or refused. The catalog and the
dictionary hold no personal data. ``access_log_mine`` and ``consents_mine`` are the data
subject's own view ("who accessed my data", "my consents").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from onewindow.audit.models import Outcome as AuditOutcome
from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.datahub import errors, services
from onewindow.datahub.keys import ID_NUMBER_PURPOSE, data_subject_of, person_key
from onewindow.datahub.models import (
    AccessLog,
    Classification,
    Consent,
    DataElement,
    Dataset,
    DatasetField,
    DatasetRecord,
    ImportBatch,
    LegalEntity,
    Masking,
    Outcome,
    Person,
    Sharing,
    SharingAgreement,
    Source,
    SubjectType,
)
from onewindow.identity import crypto
from onewindow.identity.access import MACHINE, STAFF, Subject
from onewindow.identity.models import CASEWORK_ROLES
from onewindow.kit import context, validators
from onewindow.kit.crypto import sm3_hex
from onewindow.kit.errors import NOT_FOUND, VALIDATION_FAILED, ApiError, ErrorCode, FieldError
from onewindow.kit.masking import mask_id_number, mask_name, mask_phone
from onewindow.org.models import Department
from onewindow.org.selectors import active_department_label, platform_province_prefixes

DATAHUB_SCOPE = "datahub"
MAX_FIELDS = 50


# --- catalog and dictionary (no personal data) ---------------------------------------------------


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.filter(is_active=True).select_related("owner")


def dataset_fields(dataset: Dataset) -> list[DatasetField]:
    return list(dataset.fields.select_related("element"))


def import_batches_recent(*, limit: int = 10) -> list[ImportBatch]:
    """The latest deliveries (lineage): dataset, origin, file and SM3, who, when, counts."""
    return list(
        ImportBatch.objects.select_related("dataset").order_by("-started_at", "-pk")[:limit]
    )


def element_list() -> QuerySet[DataElement]:
    return DataElement.objects.select_related("owner")


def element_get(*, key: str) -> DataElement | None:
    return DataElement.objects.filter(key=key).first()


# --- reading a subject's data ---------------------------------------------------------------------


@dataclass
class ReadResult:
    dataset: str
    subject_type: str
    as_of: str | None
    data: dict[str, Any]
    masked: list[str]
    agreement_id: int | None
    log_id: int


@dataclass
class _Attempt:
    """What the access-log row will say; filled in as the checks pass."""

    subject: Subject
    dataset_key: str
    case_number: str
    purpose: str
    department: Consumer | None = None
    dataset: Dataset | None = None
    subject_type: str = ""
    subject_key: str = ""
    fields: list[str] = field(default_factory=list)
    agreement: SharingAgreement | None = None

    def log(self, outcome: str, error: ErrorCode | None = None, digest: str = "") -> AccessLog:
        dept = self.department
        return services.access_log_append(
            actor=self.subject.label[:150],
            department_code=dept.code if dept else "",
            department_name=dept.name if dept else "",
            dataset_key=self.dataset_key[:64],
            dataset_name=self.dataset.name if self.dataset else "",
            subject_type=self.subject_type,
            subject_key=self.subject_key,
            fields=self.fields,
            case_number=self.case_number[:64],
            purpose=self.purpose[:200],
            outcome=outcome,
            error_code=error.code if error else "",
            agreement_ref=self.agreement.pk if self.agreement else None,
            response_digest=digest,
            request_id=context.current().request_id[:64],
        )

    def refuse(self, error: ErrorCode, details: list[FieldError] | None = None) -> ApiError:
        """Log the refusal (and audit a denial) and return the error to raise."""
        outcome = Outcome.NOT_FOUND if error is NOT_FOUND else Outcome.REFUSED
        self.log(outcome, error)
        if error.status == 403:
            audit_record(
                actor=self.subject.label,
                action="datahub.read_refused",
                outcome=AuditOutcome.DENIED,
                object_type="datahub.dataset",
                object_id=self.dataset_key[:64],
                detail={
                    "code": error.code,
                    "department": self.department.code if self.department else "",
                    "case_number": self.case_number[:64],
                    "purpose": self.purpose[:200],
                },
            )
        return ApiError(error, details=details or [])


@dataclass(frozen=True)
class Consumer:
    """The department a read is made for (from the cached department map)."""

    pk: int
    code: str
    name: str


def consumer_department(subject: Subject) -> Consumer | None:
    """The department a read is made for: a machine client's policy department (with the
    ``datahub`` scope in its token), or the own department of staff who handle applications
    (not the data steward, not the three admins); None unless it is active."""
    department_id: int | None = None
    if subject.kind == MACHINE:
        if DATAHUB_SCOPE in subject.scopes:
            department_id = subject.extra.get("client_department_id")
    elif subject.kind == STAFF and subject.roles & {role.value for role in CASEWORK_ROLES}:
        department_id = subject.department_id
    label = active_department_label(department_id) if department_id is not None else None
    if department_id is None or label is None:
        return None
    return Consumer(department_id, *label)


# --- the sharing configuration, cached --------------------------------------------------------
#
# Datasets with their fields and data elements, and approved agreements, are read on every
# lookup but change rarely. Each process keeps them for at most CONFIG_MAX_AGE seconds and
# drops them as soon as the shared generation counter moves: every change the data hub's
# services make (dataset, element, agreement requested, decided or revoked) bumps it when it
# commits. With Redis (production) a change reaches every process before its next read;
# without it (the SQLite demo's in-process cache), other processes see it within the age.

CONFIG_GENERATION_KEY = "datahub:config-generation"
CONFIG_MAX_AGE = 5.0


@dataclass
class _Config:
    generation: int
    loaded: float
    datasets: dict[str, tuple[Dataset, dict[str, DatasetField]] | None] = field(
        default_factory=dict
    )
    agreements: dict[tuple[int, int], SharingAgreement | None] = field(default_factory=dict)


_config: _Config | None = None


def _hub_config() -> _Config:
    global _config  # one per process, replaced whole
    generation = cache.get(CONFIG_GENERATION_KEY, 0)
    now = time.monotonic()
    current = _config
    if current is None or current.generation != generation or now - current.loaded > CONFIG_MAX_AGE:
        current = _config = _Config(generation=generation, loaded=now)
    return current


def forget_config_here() -> None:
    global _config
    _config = None


def config_changed() -> None:
    """Drop every process's cached sharing configuration (called by the services on commit)."""
    forget_config_here()
    try:
        cache.incr(CONFIG_GENERATION_KEY)
    except ValueError:
        cache.set(CONFIG_GENERATION_KEY, 1, timeout=None)


def _dataset_with_fields(
    key: str, config: _Config | None = None
) -> tuple[Dataset, dict[str, DatasetField]] | None:
    config = config or _hub_config()
    if key not in config.datasets:
        dataset = Dataset.objects.filter(key=key, is_active=True).first()
        config.datasets[key] = (
            None
            if dataset is None
            else (dataset, {f.name: f for f in dataset.fields.select_related("element")})
        )
    return config.datasets[key]


def agreement_in_force(
    *, dataset: Dataset, consumer: Consumer, config: _Config | None = None
) -> SharingAgreement | None:
    config = config or _hub_config()
    pair = (dataset.pk, consumer.pk)
    if pair not in config.agreements:
        config.agreements[pair] = SharingAgreement.objects.filter(
            dataset=dataset, consumer_id=consumer.pk, status="approved"
        ).first()
    agreement = config.agreements[pair]
    return agreement if agreement is not None and agreement.in_force() else None


def consent_in_force(
    *, dataset: Dataset, department: Consumer, subject_key: str, case_number: str
) -> Consent | None:
    now = timezone.now()
    for consent in Consent.objects.filter(
        dataset=dataset,
        department_id=department.pk,
        subject_key=subject_key,
        revoked_at__isnull=True,
    ):
        if consent.is_active(case_number=case_number, at=now):
            return consent
    return None


def dataset_read(
    *,
    subject: Subject,
    dataset_key: str,
    subject_key: str,
    fields: list[str],
    case_number: str,
    purpose: str,
) -> ReadResult:
    """One subject's fields of a dataset, for a department, a case and a purpose.

    Checks, in order, each refusal logged: the consumer department, the case and purpose,
    the dataset (exists, is shared), the field names, the agreement in force and its fields
    (conditional datasets), the subject key's check digits, the subject's consent
    (consent-bound datasets), the subject's existence. Fields outside the agreement are
    refused, never dropped; sensitive and core fields are masked unless the agreement lists
    them in clear text.
    """
    attempt = _Attempt(
        subject=subject,
        dataset_key=dataset_key,
        case_number=case_number.strip(),
        purpose=purpose.strip(),
    )
    attempt.department = consumer_department(subject)
    attempt.fields = [f.strip() for f in fields if f.strip()][:MAX_FIELDS]
    if attempt.department is None:
        raise attempt.refuse(errors.DATA_CONSUMER_UNKNOWN)
    if not attempt.case_number or not attempt.purpose:
        raise attempt.refuse(errors.DATA_CONTEXT_REQUIRED)

    config = _hub_config()  # one look at the generation per read
    found_dataset = _dataset_with_fields(dataset_key, config)
    if found_dataset is None:
        raise attempt.refuse(NOT_FOUND)
    dataset, by_name = found_dataset
    attempt.dataset = dataset
    attempt.subject_type = dataset.subject_type
    if dataset.sharing == Sharing.NOT_SHARED:
        raise attempt.refuse(errors.DATA_NOT_SHARED)

    unknown = [name for name in attempt.fields if name not in by_name]
    if not attempt.fields or len(fields) > MAX_FIELDS or unknown:
        details = [
            FieldError("fields", "unknown_field", _("No such field: %s") % name) for name in unknown
        ] or [FieldError("fields", "missing", _("List the fields you need (at most 50)."))]
        raise attempt.refuse(VALIDATION_FAILED, details)

    clear: set[str] = set()
    if dataset.sharing == Sharing.CONDITIONAL:
        attempt.agreement = agreement_in_force(
            dataset=dataset, consumer=attempt.department, config=config
        )
        if attempt.agreement is None:
            attempt.subject_key = _subject_key_or_blank(dataset, subject_key)
            raise attempt.refuse(errors.DATA_AGREEMENT_REQUIRED)
        outside = [name for name in attempt.fields if name not in attempt.agreement.fields]
        if outside:
            attempt.subject_key = _subject_key_or_blank(dataset, subject_key)
            raise attempt.refuse(
                errors.DATA_FIELDS_NOT_AGREED,
                [FieldError("fields", "not_agreed", name) for name in outside],
            )
        clear = set(attempt.agreement.clear_fields)

    key_problem = _subject_key_problem(dataset, subject_key)
    if key_problem is not None:
        raise attempt.refuse(VALIDATION_FAILED, [key_problem])
    attempt.subject_key = _stored_key(dataset, subject_key)

    if dataset.consent_required and (
        consent_in_force(
            dataset=dataset,
            department=attempt.department,
            subject_key=attempt.subject_key,
            case_number=attempt.case_number,
        )
        is None
    ):
        raise attempt.refuse(errors.DATA_CONSENT_REQUIRED)

    found = _values(dataset, attempt.subject_key, attempt.fields)
    if found is None:
        raise attempt.refuse(NOT_FOUND)
    values, as_of = found
    masked: list[str] = []
    for name in attempt.fields:
        element = by_name[name].element
        if element.classification in (Classification.SENSITIVE, Classification.CORE) and (
            name not in clear
        ):
            values[name] = mask_value(values[name], element.masking)
            masked.append(name)
    data = {name: values[name] for name in attempt.fields}
    row = attempt.log(Outcome.ALLOWED, digest=response_digest(data))
    return ReadResult(
        dataset=dataset.key,
        subject_type=dataset.subject_type,
        as_of=as_of,
        data=data,
        masked=masked,
        agreement_id=attempt.agreement.pk if attempt.agreement else None,
        log_id=row.pk,
    )


def response_digest(data: dict[str, Any]) -> str:
    """SM3 over the canonical JSON of the data returned (sorted keys, UTF-8, no spaces)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return sm3_hex(text.encode())


def _subject_key_problem(dataset: Dataset, raw: str) -> FieldError | None:
    extra = platform_province_prefixes()
    if dataset.subject_type == SubjectType.PERSON:
        result = validators.validate_id_number(raw, extra_provinces=extra)
    else:
        result = validators.validate_uscc(raw, extra_provinces=extra)
    if result.valid:
        return None
    return FieldError("subject_key", result.rule or "invalid", str(result.reason))


def _subject_key_or_blank(dataset: Dataset, raw: str) -> str:
    """The stored key of a subject: the look-up hash of a well-formed ID number, the USCC."""
    if _subject_key_problem(dataset, raw) is not None:
        return ""
    return _stored_key(dataset, raw)


def _stored_key(dataset: Dataset, valid: str) -> str:
    if dataset.subject_type == SubjectType.PERSON:
        return person_key(valid)
    return validators.normalize_uscc(valid)


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


_PERSON_SQL = (  # Person's table (datahub_person); the key is a parameter
    "SELECT id, name, sex, birth_date, status, death_date, updated_at, id_number_encrypted, "
    "household_address_id FROM datahub_person WHERE id_number_hash = %s"
)


def _values(
    dataset: Dataset, key: str, names: list[str]
) -> tuple[dict[str, Any], str | None] | None:
    if dataset.source == Source.POPULATION:
        # The hot path of the exchange API: one hand-written statement on the unique look-up
        # hash (no query to compile per call); an address is read only when asked for.
        person = next(iter(Person.objects.raw(_PERSON_SQL, [key])), None)
        if person is None:
            return None
        return _person_values(person, names), _iso(person.updated_at.date())
    if dataset.source == Source.LEGAL_ENTITY:
        entity = (
            LegalEntity.objects.select_related("registered_address__region", "legal_representative")
            .filter(uscc=key)
            .first()
        )
        if entity is None:
            return None
        return _entity_values(entity, names), _iso(entity.updated_at.date())
    record = DatasetRecord.objects.filter(dataset=dataset, subject_key=key).first()
    if record is None:
        return None
    return {name: record.values.get(name) for name in names}, _iso(record.as_of)


def _person_values(person: Person, names: list[str]) -> dict[str, Any]:
    def address() -> Any:  # read only when an address field is asked for
        return person.household_address

    getters = {
        "id_number": lambda: crypto.decrypt(person.id_number_encrypted, ID_NUMBER_PURPOSE),
        "name": lambda: person.name,
        "sex": lambda: person.sex,
        "birth_date": lambda: _iso(person.birth_date),
        "household_region": lambda: address().region_id,
        "household_address": lambda: address().region.name + address().detail,
        "status": lambda: person.status,
        "death_date": lambda: _iso(person.death_date),
    }
    return {name: getters[name]() for name in names}  # only what was asked is decrypted


def _entity_values(entity: LegalEntity, names: list[str]) -> dict[str, Any]:
    address, rep = entity.registered_address, entity.legal_representative
    getters = {
        "uscc": lambda: entity.uscc,
        "name": lambda: entity.name,
        "entity_type": lambda: entity.entity_type,
        "legal_representative": lambda: rep.name,
        "legal_representative_id_number": lambda: crypto.decrypt(
            rep.id_number_encrypted, ID_NUMBER_PURPOSE
        ),
        "registered_region": lambda: address.region_id,
        "registered_address": lambda: address.region.name + address.detail,
        "status": lambda: entity.status,
        "established_on": lambda: _iso(entity.established_on),
    }
    return {name: getters[name]() for name in names}


def mask_value(value: Any, masking: str) -> Any:
    if value is None or masking == Masking.WITHHOLD:
        return None
    text = str(value)
    if masking == Masking.ID_NUMBER:
        return mask_id_number(text)
    if masking == Masking.NAME:
        return mask_name(text)
    if masking == Masking.PHONE:
        return mask_phone(text)
    if masking == Masking.DATE:
        return text[:4] + "-**-**"
    if masking == Masking.ADDRESS:
        return text[:6] + "*" * 4
    return None


# --- the data subject's own view ------------------------------------------------------------


@dataclass
class LogPage:
    items: list[AccessLog]
    total: int
    page: int
    pages: int


def access_log_mine(*, subject: Subject, page: int = 1, per_page: int = 20) -> LogPage:
    """Every request for the caller's data (or, while acting for an enterprise, its data),
    newest first — allowed, refused and not found alike."""
    data_subject = data_subject_of(subject)
    if data_subject is None:
        return LogPage([], 0, 1, 1)
    qs = AccessLog.objects.filter(
        subject_type=data_subject.subject_type, subject_key=data_subject.key
    ).order_by("-occurred_at", "-pk")
    paginator = Paginator(qs, per_page)
    current = paginator.get_page(page)
    rows = list(current.object_list)
    labels = {
        (f.dataset.key, f.name): f.element.name
        for f in DatasetField.objects.filter(
            dataset__key__in={r.dataset_key for r in rows}
        ).select_related("dataset", "element")
    }
    for row in rows:
        # Who read, as the person understands it: the department; themselves (forms filled
        # from their own data); the platform (the automatic cross-check of an application).
        if row.department_name:
            row.who = row.department_name
        elif row.actor == subject.label:
            row.who = _("You (a form filled in from your data)")
        elif row.actor == SYSTEM_ACTOR:
            row.who = _("The platform (automatic check)")
        else:
            row.who = row.actor
        row.field_labels = [labels.get((row.dataset_key, name), name) for name in row.fields]
    return LogPage(rows, paginator.count, current.number, paginator.num_pages)


def consents_mine(*, subject: Subject) -> list[Consent]:
    """The caller's consents (or the enterprise's), newest first, revoked ones included."""
    data_subject = data_subject_of(subject)
    if data_subject is None:
        return []
    return list(
        Consent.objects.filter(subject_type=data_subject.subject_type, subject_key=data_subject.key)
        .select_related("dataset", "department")
        .order_by("-granted_at", "-pk")
    )


def consent_choices(*, subject: Subject) -> tuple[list[Dataset], list[Department]]:
    """What the caller may consent to: consent-bound datasets about their kind of subject, and
    the departments that hold an agreement in force for each."""
    data_subject = data_subject_of(subject)
    if data_subject is None:
        return [], []
    datasets = list(
        Dataset.objects.filter(
            is_active=True, consent_required=True, subject_type=data_subject.subject_type
        ).order_by("name")
    )
    today = timezone.localdate()
    department_ids = SharingAgreement.objects.filter(
        dataset__in=datasets, status="approved", expires_on__gte=today
    ).values_list("consumer_id", flat=True)
    departments = list(Department.objects.filter(pk__in=department_ids).order_by("name"))
    return datasets, departments
