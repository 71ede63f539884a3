"""Forms that fill themselves (免填) and the cross-check of typed answers (跨部门材料自动比对).

Only the applicant's own registry entry is ever read here: the person's (found by the look-up
hash of the ID number on their real-name profile) or, when they act for an enterprise, the
enterprise's (by USCC). Each read leaves a row in the access log, so the applicant sees it on
"who accessed my data". Callers name form fields by data element (``person.name``,
``enterprise.uscc``, ...); only the elements listed in ``OWN_ELEMENTS`` can be filled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from onewindow.audit.services import SYSTEM_ACTOR
from onewindow.datahub import services
from onewindow.datahub.models import LegalEntity, Outcome, Person, Source, SubjectType
from onewindow.datahub.selectors import _entity_values, _person_values, response_digest
from onewindow.identity.access import STAFF, Subject
from onewindow.identity.models import Enterprise, User
from onewindow.identity.selectors import citizen_lookup_hash
from onewindow.kit import context
from onewindow.org.selectors import department_label

# data element -> the registry field that holds it, per kind of applicant
PERSON_ELEMENTS = {
    "person.name": "name",
    "person.id_number": "id_number",
    "person.birth_date": "birth_date",
    "person.household_address": "household_address",
}
ENTERPRISE_ELEMENTS = {
    "enterprise.name": "name",
    "enterprise.uscc": "uscc",
    "enterprise.legal_representative": "legal_representative",
    "enterprise.registered_address": "registered_address",
}
OWN_ELEMENTS = frozenset(PERSON_ELEMENTS) | frozenset(ENTERPRISE_ELEMENTS)


@dataclass(frozen=True)
class RegistryValue:
    """One element's value in the registry: ``text`` as the registry holds it; for addresses
    also the region code and the rest, so an address field can be filled in its own shape."""

    text: str
    region: str = ""
    detail: str = ""


def own_registry_values(
    *,
    reader: Subject | None,
    applicant: User,
    enterprise: Enterprise | None,
    elements: set[str],
    purpose: str,
    case_number: str = "",
) -> dict[str, RegistryValue]:
    """The applicant's (or their enterprise's) registry values of ``elements``, read for
    ``reader`` (the applicant, or the window clerk filing for them; None: the platform itself,
    e.g. the cross-check after submission) and logged. Elements of
    the other kind, unknown elements and a missing registry entry give nothing."""
    wanted = PERSON_ELEMENTS if enterprise is None else ENTERPRISE_ELEMENTS
    fields = sorted({wanted[e] for e in elements if e in wanted})
    if not fields:
        return {}
    if enterprise is None:
        key = citizen_lookup_hash(user=applicant)
        person = (
            Person.objects.select_related("household_address__region")
            .filter(id_number_hash=key)
            .first()
            if key
            else None
        )
        values = _person_values(person, fields) if person is not None else None
        source, subject_type, subject_key = Source.POPULATION, SubjectType.PERSON, key or ""
        addresses = {"household_address": person.household_address} if person else {}
    else:
        entity = (
            LegalEntity.objects.select_related("registered_address__region", "legal_representative")
            .filter(uscc=enterprise.uscc)
            .first()
        )
        values = _entity_values(entity, fields) if entity is not None else None
        source, subject_type, subject_key = (
            Source.LEGAL_ENTITY,
            SubjectType.ENTERPRISE,
            enterprise.uscc,
        )
        addresses = {"registered_address": entity.registered_address} if entity else {}
    if not subject_key:
        return {}
    _log(reader, source, subject_type, subject_key, fields, purpose, case_number, values)
    if values is None:
        return {}
    found: dict[str, RegistryValue] = {}
    for element, field in wanted.items():
        if field not in fields or values.get(field) in (None, ""):
            continue
        address = addresses.get(field)
        if address is not None:
            found[element] = RegistryValue(
                text=str(values[field]), region=address.region_id, detail=address.detail
            )
        else:
            found[element] = RegistryValue(text=str(values[field]))
    return found


def _log(
    reader: Subject | None,
    source: str,
    subject_type: str,
    subject_key: str,
    fields: list[str],
    purpose: str,
    case_number: str,
    values: dict[str, Any] | None,
    *,
    dataset_name: str = "",
) -> None:
    code, name = ("", "")
    if reader is not None and reader.kind == STAFF and reader.department_id is not None:
        code, name = department_label(reader.department_id)
    services.access_log_append(
        actor=(reader.label if reader is not None else SYSTEM_ACTOR)[:150],
        department_code=code,
        department_name=name,
        dataset_key=source,
        dataset_name=(dataset_name or str(Source(source).label))[:100],
        subject_type=subject_type,
        subject_key=subject_key,
        fields=fields,
        case_number=case_number[:64],
        purpose=purpose[:200],
        outcome=Outcome.ALLOWED if values is not None else Outcome.NOT_FOUND,
        response_digest=response_digest(values) if values is not None else "",
        request_id=context.current().request_id[:64],
    )


def same_value(typed: Any, registry: RegistryValue) -> bool:
    """Whether a typed answer says what the registry says: text compared without spaces and
    case (ID numbers' x/X), an address by its region and street, a date as a date."""
    if isinstance(typed, dict):
        return _plain(typed.get("region")) == _plain(registry.region) and _plain(
            typed.get("detail")
        ) == _plain(registry.detail)
    if isinstance(typed, dt.date):
        typed = typed.isoformat()
    text = _plain(typed)
    return text == _plain(registry.text) or (
        bool(registry.detail) and text in (_plain(registry.detail), _plain(registry.text))
    )


def _plain(value: Any) -> str:
    return "".join(str(value or "").split()).upper()


def masked_text(element: str, value: RegistryValue) -> str:
    """How a registry value is shown to a reviewer next to a differing answer: masked like
    everywhere else (names, ID numbers), addresses only down to the region."""
    from onewindow.kit.masking import mask_id_number, mask_name

    if element.endswith("id_number"):
        return mask_id_number(value.text)
    if element in ("person.name", "enterprise.legal_representative"):
        return mask_name(value.text)
    if value.detail:
        region_name = value.text[: len(value.text) - len(value.detail)]
        return f"{region_name}……" if region_name else "……"
    return value.text


@dataclass(frozen=True)
class OwnRecord:
    """One department dataset's record about the applicant (None: no record), with the
    dataset's name and owner, for a pre-check (预审) to evaluate."""

    dataset: str
    dataset_name: str
    owner: str
    values: dict[str, Any] | None
    as_of: dt.date | None


def own_records(
    *,
    reader: Subject | None,
    applicant: User,
    enterprise: Enterprise | None,
    datasets: Mapping[str, set[str]],
    purpose: str,
) -> dict[str, OwnRecord | None]:
    """The applicant's own records (their enterprise's when acting for one) in the named
    department datasets, only the named fields of each, each read logged for them to see. A
    dataset that does not exist or is about the other kind of subject gives None (the caller
    says the check could not run)."""
    from onewindow.datahub.models import Dataset, DatasetRecord

    if enterprise is not None:
        subject_type, subject_key = SubjectType.ENTERPRISE, enterprise.uscc
    else:
        subject_type, subject_key = SubjectType.PERSON, citizen_lookup_hash(user=applicant) or ""
    rows = {
        d.key: d
        for d in Dataset.objects.filter(
            key__in=datasets, is_active=True, subject_type=subject_type
        ).select_related("owner")
    }
    records = {
        r.dataset_id: r
        for r in DatasetRecord.objects.filter(dataset__in=rows.values(), subject_key=subject_key)
    }
    found: dict[str, OwnRecord | None] = {}
    for key in datasets:
        dataset = rows.get(key)
        if dataset is None or not subject_key:
            found[key] = None
            continue
        record = records.get(dataset.pk)
        wanted = datasets[key]
        values = (
            {k: v for k, v in record.values.items() if k in wanted} if record is not None else None
        )
        _log(
            reader,
            dataset.key,
            subject_type,
            subject_key,
            sorted(wanted),
            purpose,
            "",
            values,
            dataset_name=dataset.name,
        )
        found[key] = OwnRecord(
            dataset=dataset.key,
            dataset_name=dataset.name,
            owner=dataset.owner.name,
            values=values,
            as_of=record.as_of if record is not None else None,
        )
    return found
