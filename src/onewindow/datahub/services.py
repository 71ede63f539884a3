"""Every write to the data hub's tables.

The catalog and dictionary (``element_upsert``, ``dataset_upsert``), the registries' loaders
(``addresses_load``, ``persons_load``, ``legal_entities_load``, ``dataset_records_load``: bulk,
idempotent), agreements (``agreement_request`` by the consumer's data steward,
``agreement_decide`` / ``agreement_revoke`` by the owner's data steward), consent
(``consent_grant``, ``consent_revoke`` by the data subject) and ``access_log_append`` — the only
writer of the append-only access log, called by ``selectors.dataset_read``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onewindow.audit.services import audit_record
from onewindow.datahub import errors
from onewindow.datahub.keys import ID_NUMBER_PURPOSE, data_subject_of, may_consent_for
from onewindow.datahub.models import (
    SOURCE_FIELDS,
    AccessLog,
    Address,
    AgreementStatus,
    Classification,
    Consent,
    DataElement,
    Dataset,
    DatasetField,
    DatasetRecord,
    ImportBatch,
    ImportStatus,
    LegalEntity,
    Person,
    Sharing,
    SharingAgreement,
    Source,
)
from onewindow.identity import crypto
from onewindow.identity.access import STAFF, Subject
from onewindow.identity.models import Role, User
from onewindow.kit.errors import NOT_FOUND, VALIDATION_FAILED, ApiError, FieldError
from onewindow.org.models import Department, Region

# The longest a consent given for a period may last (个人信息保护法: as short as the purpose
# needs); a city may set DATAHUB_CONSENT_MAX_DAYS.
CONSENT_MAX_DAYS_DEFAULT = 365


def _config_changed() -> None:
    """This process drops its cached sharing configuration now, every process once this
    transaction commits."""
    from onewindow.datahub.selectors import config_changed, forget_config_here

    forget_config_here()
    transaction.on_commit(config_changed)


def consent_max_days() -> int:
    return int(getattr(settings, "DATAHUB_CONSENT_MAX_DAYS", CONSENT_MAX_DAYS_DEFAULT))


# --- dictionary and catalog ----------------------------------------------------------------------


@transaction.atomic
def element_upsert(
    *,
    key: str,
    name: str,
    data_type: str,
    classification: str,
    owner: Department,
    masking: str = "withhold",
    description: str = "",
) -> DataElement:
    _config_changed()
    element = DataElement.objects.filter(key=key).first() or DataElement(key=key)
    element.name, element.data_type, element.classification = name, data_type, classification
    element.owner, element.masking, element.description = owner, masking, description
    element.full_clean()
    element.save()
    return element


@transaction.atomic
def dataset_upsert(
    *,
    key: str,
    name: str,
    source: str,
    subject_type: str,
    owner: Department,
    sharing: str,
    update_frequency: str,
    fields: Sequence[tuple[str, str]],
    consent_required: bool = False,
    description: str = "",
) -> Dataset:
    """Create or update a catalog entry; ``fields`` is ``[(field name, element key), ...]``."""
    _config_changed()
    dataset = Dataset.objects.filter(key=key).first() or Dataset(key=key)
    dataset.name, dataset.source, dataset.subject_type = name, source, subject_type
    dataset.owner, dataset.sharing, dataset.update_frequency = owner, sharing, update_frequency
    dataset.consent_required, dataset.description = consent_required, description
    dataset.full_clean()
    producible = SOURCE_FIELDS.get(Source(source))
    impossible = sorted({n for n, _k in fields} - set(producible)) if producible else []
    if impossible:
        raise ValueError(f"the {source} registry has no fields {impossible}")
    dataset.save()
    elements = {e.key: e for e in DataElement.objects.filter(key__in=[k for _n, k in fields])}
    missing = sorted({k for _n, k in fields} - set(elements))
    if missing:
        raise ValueError(f"unknown data elements: {', '.join(missing)}")
    dataset.fields.exclude(name__in=[n for n, _k in fields]).delete()
    for position, (field_name, element_key) in enumerate(fields):
        DatasetField.objects.update_or_create(
            dataset=dataset,
            name=field_name,
            defaults={"element": elements[element_key], "position": position},
        )
    return dataset


# --- registries (bulk loaders, idempotent) --------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    id_number: str
    name: str
    sex: str
    birth_date: dt.date
    region_code: str
    address: str
    status: str = "alive"
    death_date: dt.date | None = None


@dataclass(frozen=True)
class LegalEntityRow:
    uscc: str
    name: str
    entity_type: str
    representative_id_number: str
    region_code: str
    address: str
    established_on: dt.date
    status: str = "active"


def _addresses(pairs: Iterable[tuple[str, str]], batch_size: int) -> dict[tuple[str, str], int]:
    wanted = set(pairs)
    Address.objects.bulk_create(
        [Address(region_id=r, detail=d) for r, d in sorted(wanted)],
        batch_size=batch_size,
        ignore_conflicts=True,
    )
    found: dict[tuple[str, str], int] = {}
    for region_code in {r for r, _d in wanted}:
        for pk, detail in Address.objects.filter(region_id=region_code).values_list("pk", "detail"):
            found[(region_code, detail)] = pk
    return found


@transaction.atomic
def persons_load(
    *, rows: Sequence[PersonRow], batch: ImportBatch | None = None, batch_size: int = 1000
) -> int:
    """Add persons to the population registry; a person already there (same ID number) is left
    as it is (with its lineage). New rows record ``batch`` and the time. Returns how many rows
    were new."""
    ring = crypto.keyring()
    known_regions = set(Region.objects.values_list("code", flat=True))
    unknown = sorted({r.region_code for r in rows} - known_regions)
    if unknown:
        raise ValueError(f"unknown regions: {', '.join(unknown)}")
    addresses = _addresses(((r.region_code, r.address) for r in rows), batch_size)
    before = Person.objects.count()
    now = timezone.now()
    Person.objects.bulk_create(
        [
            Person(
                id_number_encrypted=ring.encrypt(r.id_number, purpose=ID_NUMBER_PURPOSE),
                id_number_hash=ring.lookup_hash(r.id_number, purpose=ID_NUMBER_PURPOSE),
                name=r.name,
                sex=r.sex,
                birth_date=r.birth_date,
                household_address_id=addresses[(r.region_code, r.address)],
                status=r.status,
                death_date=r.death_date,
                updated_at=now,
                source_key=Source.POPULATION.value,
                import_batch=batch,
                loaded_at=now,
            )
            for r in rows
        ],
        batch_size=batch_size,
        ignore_conflicts=True,
    )
    return Person.objects.count() - before


@transaction.atomic
def legal_entities_load(
    *, rows: Sequence[LegalEntityRow], batch: ImportBatch | None = None, batch_size: int = 1000
) -> int:
    """Add legal entities; their legal representatives must already be in the population
    registry. Existing USCCs are left as they are. Returns how many rows were new."""
    ring = crypto.keyring()
    hashes = {
        r.uscc: ring.lookup_hash(r.representative_id_number, purpose=ID_NUMBER_PURPOSE)
        for r in rows
    }
    person_ids = dict(
        Person.objects.filter(id_number_hash__in=set(hashes.values())).values_list(
            "id_number_hash", "pk"
        )
    )
    missing = [uscc for uscc, h in hashes.items() if h not in person_ids]
    if missing:
        raise ValueError(f"legal representatives not in the population registry: {missing[:5]}")
    addresses = _addresses(((r.region_code, r.address) for r in rows), batch_size)
    before = LegalEntity.objects.count()
    now = timezone.now()
    LegalEntity.objects.bulk_create(
        [
            LegalEntity(
                uscc=r.uscc,
                name=r.name,
                entity_type=r.entity_type,
                legal_representative_id=person_ids[hashes[r.uscc]],
                registered_address_id=addresses[(r.region_code, r.address)],
                status=r.status,
                established_on=r.established_on,
                updated_at=now,
                source_key=Source.LEGAL_ENTITY.value,
                import_batch=batch,
                loaded_at=now,
            )
            for r in rows
        ],
        batch_size=batch_size,
        ignore_conflicts=True,
    )
    return LegalEntity.objects.count() - before


@transaction.atomic
def dataset_records_load(
    *,
    dataset: Dataset,
    records: Sequence[tuple[str, dict[str, Any]]],
    as_of: dt.date,
    batch: ImportBatch | None = None,
    batch_size: int = 1000,
) -> int:
    """A department's delivery of its dataset: ``[(subject key, {field: value}), ...]`` where
    the key is the USCC (enterprises) or the ID number (persons; only its hash is kept).
    Existing rows of the same subjects are replaced. Returns the number of rows delivered."""
    names = set(dataset.fields.values_list("name", flat=True))
    for _key, values in records:
        extra = set(values) - names
        if extra:
            raise ValueError(f"fields not in dataset {dataset.key}: {sorted(extra)}")
    ring = crypto.keyring()
    now = timezone.now()
    rows = [
        DatasetRecord(
            dataset=dataset,
            subject_key=(
                key
                if dataset.subject_type == "enterprise"
                else ring.lookup_hash(key, purpose=ID_NUMBER_PURPOSE)
            ),
            values=values,
            as_of=as_of,
            updated_at=now,
            import_batch=batch,
            loaded_at=now,
        )
        for key, values in records
    ]
    DatasetRecord.objects.bulk_create(
        rows,
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["dataset", "subject_key"],
        update_fields=["values", "as_of", "updated_at", "import_batch", "loaded_at"],
    )
    Dataset.objects.filter(pk=dataset.pk).update(data_updated_at=now)
    return len(rows)


def import_batch_start(
    *, dataset: Dataset, origin: str, actor: str, file_name: str = "", file_sm3: str = ""
) -> ImportBatch:
    """Open a batch: the lineage of the rows a delivery is about to write."""
    with transaction.atomic():
        return ImportBatch.objects.create(
            dataset=dataset,
            origin=origin,
            actor=actor[:150],
            file_name=file_name[:255],
            file_sm3=file_sm3,
        )


def import_batch_finish(
    *, batch: ImportBatch, rows_total: int, rows_ok: int, rows_rejected: int, failed: bool = False
) -> ImportBatch:
    """Close a batch with its counts; a registry's delivery also stamps ``data_updated_at``."""
    with transaction.atomic():
        batch.rows_total, batch.rows_ok, batch.rows_rejected = rows_total, rows_ok, rows_rejected
        batch.status = ImportStatus.FAILED if failed else ImportStatus.FINISHED
        batch.finished_at = timezone.now()
        batch.save(
            update_fields=["rows_total", "rows_ok", "rows_rejected", "status", "finished_at"]
        )
        if not failed and rows_ok and batch.dataset.source != Source.RECORDS:
            Dataset.objects.filter(pk=batch.dataset_id).update(data_updated_at=batch.finished_at)
        return batch


# --- sharing agreements ----------------------------------------------------------------------


def _require_steward(subject: Subject, department: Department) -> None:
    if (
        subject.kind != STAFF
        or Role.DATA_STEWARD.value not in subject.roles
        or subject.department_id != department.pk
    ):
        raise ApiError(errors.DATA_STEWARD_REQUIRED)


def _actor(subject: Subject) -> User:
    if subject.user is None:
        raise ApiError(errors.DATA_STEWARD_REQUIRED)
    return subject.user


@transaction.atomic
def agreement_request(
    *,
    subject: Subject,
    dataset: Dataset,
    fields: Sequence[str],
    clear_fields: Sequence[str] = (),
    purpose: str,
    legal_basis: str,
    expires_on: dt.date,
) -> SharingAgreement:
    """The consumer department's data steward asks the owner for fields of a dataset."""
    _config_changed()
    consumer = (
        Department.objects.filter(pk=subject.department_id).first()
        if subject.department_id is not None
        else None
    )
    if consumer is None:
        raise ApiError(errors.DATA_STEWARD_REQUIRED)
    _require_steward(subject, consumer)
    problems: list[FieldError] = []
    by_name = {f.name: f for f in dataset.fields.select_related("element")}
    if dataset.sharing != Sharing.CONDITIONAL:
        problems.append(
            FieldError(
                "dataset",
                "not_conditional",
                _("Only a conditionally shared dataset needs an agreement."),
            )
        )
    if not fields:
        problems.append(FieldError("fields", "missing", _("This field is required.")))
    for name in fields:
        if name not in by_name:
            problems.append(FieldError("fields", "unknown_field", name))
        elif by_name[name].element.classification == Classification.CORE:
            problems.append(
                FieldError("fields", "core_data", _("Core data is not shared: %s") % name)
            )
    for name in clear_fields:
        if name not in fields:
            problems.append(FieldError("clear_fields", "not_in_fields", name))
    if not purpose.strip():
        problems.append(FieldError("purpose", "missing", _("This field is required.")))
    if not legal_basis.strip():
        problems.append(FieldError("legal_basis", "missing", _("This field is required.")))
    if expires_on <= timezone.localdate():
        problems.append(
            FieldError("expires_on", "past", _("The expiry date must be in the future."))
        )
    if problems:
        raise ApiError(VALIDATION_FAILED, details=problems)
    agreement = SharingAgreement.objects.create(
        dataset=dataset,
        consumer=consumer,
        fields=sorted(set(fields)),
        clear_fields=sorted(set(clear_fields)),
        purpose=purpose.strip(),
        legal_basis=legal_basis.strip(),
        expires_on=expires_on,
        requested_by=_actor(subject),
    )
    audit_record(
        actor=subject.label,
        action="datahub.agreement_request",
        object_type="datahub.agreement",
        object_id=agreement.pk,
        object_repr=str(agreement),
        detail={"dataset": dataset.key, "consumer": consumer.code, "fields": agreement.fields},
    )
    return agreement


@transaction.atomic
def agreement_decide(
    *, subject: Subject, agreement: SharingAgreement, approve: bool, note: str = ""
) -> SharingAgreement:
    """The owner department's data steward approves (the earlier agreement in force for the
    same consumer, if any, is superseded) or rejects a pending agreement."""
    _config_changed()
    agreement = (
        SharingAgreement.objects.select_for_update().select_related("dataset").get(pk=agreement.pk)
    )
    _require_steward(subject, agreement.dataset.owner)
    if agreement.status != AgreementStatus.PENDING:
        raise ApiError(errors.DATA_AGREEMENT_NOT_PENDING)
    now = timezone.now()
    if approve:
        SharingAgreement.objects.filter(
            dataset=agreement.dataset_id,
            consumer=agreement.consumer_id,
            status=AgreementStatus.APPROVED,
        ).update(status=AgreementStatus.SUPERSEDED)
    agreement.status = AgreementStatus.APPROVED if approve else AgreementStatus.REJECTED
    agreement.decided_by, agreement.decided_at, agreement.decision_note = (
        _actor(subject),
        now,
        note[:300],
    )
    agreement.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=subject.label,
        action="datahub.agreement_approve" if approve else "datahub.agreement_reject",
        object_type="datahub.agreement",
        object_id=agreement.pk,
        object_repr=str(agreement),
        detail={"dataset": agreement.dataset.key, "fields": agreement.fields},
    )
    return agreement


@transaction.atomic
def agreement_revoke(*, subject: Subject, agreement: SharingAgreement, note: str) -> None:
    """The owner's data steward ends an agreement in force; the next read is refused."""
    _config_changed()
    agreement = (
        SharingAgreement.objects.select_for_update().select_related("dataset").get(pk=agreement.pk)
    )
    _require_steward(subject, agreement.dataset.owner)
    if agreement.status != AgreementStatus.APPROVED:
        raise ApiError(errors.DATA_AGREEMENT_NOT_PENDING)
    agreement.status = AgreementStatus.REVOKED
    agreement.decided_by, agreement.decided_at = _actor(subject), timezone.now()
    agreement.decision_note = note[:300]
    agreement.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=subject.label,
        action="datahub.agreement_revoke",
        object_type="datahub.agreement",
        object_id=agreement.pk,
        object_repr=str(agreement),
        detail={"dataset": agreement.dataset.key, "note": note[:300]},
    )


# --- consent ------------------------------------------------------------------------------------


@transaction.atomic
def consent_grant(
    *,
    subject: Subject,
    dataset_key: str,
    department_code: str,
    purpose: str,
    expires_on: dt.date | None = None,
    case_number: str = "",
) -> Consent:
    """The data subject (a citizen, or an enterprise's legal representative acting for it)
    lets a department read a consent-bound dataset until ``expires_on`` (end of that day) or
    for the one application ``case_number``."""
    data_subject = data_subject_of(subject)
    if data_subject is None or not may_consent_for(subject) or subject.user is None:
        raise ApiError(errors.DATA_CONSENT_NOT_APPLICABLE)
    dataset = Dataset.objects.filter(key=dataset_key, is_active=True).first()
    if (
        dataset is None
        or not dataset.consent_required
        or dataset.subject_type != data_subject.subject_type
    ):
        raise ApiError(errors.DATA_CONSENT_NOT_APPLICABLE)
    problems: list[FieldError] = []
    department = Department.objects.filter(code=department_code, is_active=True).first()
    if department is None:
        problems.append(FieldError("department", "unknown", _("No such department.")))
    if not purpose.strip():
        problems.append(FieldError("purpose", "missing", _("This field is required.")))
    case_number = case_number.strip()
    expires_at = None
    if expires_on is None and not case_number:
        problems.append(
            FieldError(
                "expires_on",
                "missing",
                _("Give an end date, or the application the consent is for."),
            )
        )
    if expires_on is not None:
        today = timezone.localdate()
        if expires_on < today:
            problems.append(
                FieldError("expires_on", "past", _("The end date cannot be in the past."))
            )
        elif (expires_on - today).days > consent_max_days():
            problems.append(
                FieldError(
                    "expires_on",
                    "too_long",
                    _("Consent can be given for at most %(days)d days.")
                    % {"days": consent_max_days()},
                )
            )
        end_of_day = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time.min)
        expires_at = timezone.make_aware(end_of_day)
    if problems or department is None:
        raise ApiError(VALIDATION_FAILED, details=problems)
    consent = Consent.objects.create(
        subject_type=data_subject.subject_type,
        subject_key=data_subject.key,
        dataset=dataset,
        department=department,
        purpose=purpose.strip()[:200],
        expires_at=expires_at,
        case_number=case_number[:64],
        granted_by=subject.user,
    )
    audit_record(
        actor=subject.label,
        action="datahub.consent_grant",
        object_type="datahub.consent",
        object_id=consent.pk,
        object_repr=f"{dataset.key} → {department.code}",
        detail={"case_number": consent.case_number, "expires_on": str(expires_on or "")},
    )
    return consent


@transaction.atomic
def consent_revoke(*, subject: Subject, consent_id: int) -> Consent:
    """Revoke one of the subject's own grants; the department's next read is refused.
    Someone else's grant answers NOT_FOUND, exactly like a missing one."""
    data_subject = data_subject_of(subject)
    consent = (
        Consent.objects.select_for_update()
        .filter(pk=consent_id, subject_key=data_subject.key if data_subject else "")
        .exclude(subject_key="")
        .first()
    )
    if consent is None or data_subject is None:
        raise ApiError(NOT_FOUND)
    if not may_consent_for(subject):
        raise ApiError(errors.DATA_CONSENT_NOT_APPLICABLE)
    if consent.revoked_at is None:
        consent.revoked_at = timezone.now()
        consent.save(update_fields=["revoked_at"])
        audit_record(
            actor=subject.label,
            action="datahub.consent_revoke",
            object_type="datahub.consent",
            object_id=consent.pk,
        )
    return consent


# --- the access log -------------------------------------------------------------------------


def access_log_append(**values: Any) -> AccessLog:
    """Append one row to the access log: one INSERT, committed at once outside a transaction
    (so a refused read is recorded even though the request answers an error), or part of the
    caller's transaction inside one."""
    return AccessLog.objects.create(**values)


@transaction.atomic
def datahub_clear() -> dict[str, int]:
    """Delete every consent, agreement, registry row and catalog entry (the access log stays:
    it is append-only). For the demo's reset only, never on a real installation."""
    _config_changed()
    counts: dict[str, int] = {}
    for model in (
        Consent,
        SharingAgreement,
        DatasetRecord,
        LegalEntity,
        Person,
        ImportBatch,
        Address,
        DatasetField,
        Dataset,
        DataElement,
    ):
        counts[model._meta.model_name or ""] = model.objects.all().delete()[0]
    return counts


def population_keys_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt the registry's ID numbers with the current field key and recompute their
    look-up hashes (and the person keys of records and consents) with the current look-up key:
    the data hub's part of ``onewindow keys rotate``. Idempotent; returns the persons done."""
    ring = crypto.keyring()
    done, last_pk = 0, 0
    while True:
        with transaction.atomic():
            persons = list(
                Person.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            if not persons:
                return done
            for person in persons:
                id_number = ring.decrypt(person.id_number_encrypted, purpose=ID_NUMBER_PURPOSE)
                new_hash = ring.lookup_hash(id_number, purpose=ID_NUMBER_PURPOSE)
                if new_hash != person.id_number_hash:
                    DatasetRecord.objects.filter(
                        dataset__subject_type="person", subject_key=person.id_number_hash
                    ).update(subject_key=new_hash)
                    Consent.objects.filter(
                        subject_type="person", subject_key=person.id_number_hash
                    ).update(subject_key=new_hash)
                person.id_number_encrypted = ring.encrypt(id_number, purpose=ID_NUMBER_PURPOSE)
                person.id_number_hash = new_hash
            Person.objects.bulk_update(persons, ["id_number_encrypted", "id_number_hash"])
            done += len(persons)
            last_pk = persons[-1].pk
