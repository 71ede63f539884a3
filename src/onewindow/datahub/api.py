"""The data hub API: the exchange API for departments' systems, the sharing catalog, and the
data subject's own consents and access log."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status

from onewindow.datahub import selectors, services
from onewindow.datahub.models import AccessLog, Consent
from onewindow.identity.access import CITIZEN, MACHINE, STAFF, Subject, api_access

router = Router(tags=["datahub"])
MAX_ID = 2**63 - 1


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by the auth classes
    return subject


# --- schemas -----------------------------------------------------------------------------------


class FieldOut(Schema):
    name: str
    element: str
    element_name: str
    data_type: str
    classification: str


class DatasetOut(Schema):
    key: str
    name: str
    description: str
    subject_type: str
    owner: str
    owner_name: str
    sharing: str
    consent_required: bool
    update_frequency: str
    data_updated_at: dt.datetime | None
    fields: list[FieldOut]


class ReadOut(Schema):
    dataset: str
    subject_type: str
    as_of: str | None
    data: dict[str, object]
    masked: list[str]
    agreement_id: int | None


class AccessLogOut(Schema):
    occurred_at: dt.datetime
    department_code: str
    department_name: str
    dataset: str
    dataset_name: str
    fields: list[str]
    case_number: str
    purpose: str
    outcome: str
    error_code: str


class AccessLogPageOut(Schema):
    items: list[AccessLogOut]
    total: int
    page: int
    pages: int


class ConsentOut(Schema):
    id: int
    dataset: str
    dataset_name: str
    department_code: str
    department_name: str
    purpose: str
    expires_at: dt.datetime | None
    case_number: str
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


class ConsentIn(Schema):
    dataset: str
    department: str
    purpose: str
    expires_on: dt.date | None = None
    case_number: str = ""


def _consent_out(consent: Consent) -> ConsentOut:
    return ConsentOut(
        id=consent.pk,
        dataset=consent.dataset.key,
        dataset_name=consent.dataset.name,
        department_code=consent.department.code,
        department_name=consent.department.name,
        purpose=consent.purpose,
        expires_at=consent.expires_at,
        case_number=consent.case_number,
        granted_at=consent.granted_at,
        revoked_at=consent.revoked_at,
        active=consent.is_active(case_number=consent.case_number),
    )


def _log_out(row: AccessLog) -> AccessLogOut:
    return AccessLogOut(
        occurred_at=row.occurred_at,
        department_code=row.department_code,
        department_name=row.department_name,
        dataset=row.dataset_key,
        dataset_name=row.dataset_name,
        fields=list(row.fields),
        case_number=row.case_number,
        purpose=row.purpose,
        outcome=row.outcome,
        error_code=row.error_code,
    )


# --- departments' systems ----------------------------------------------------------------------


@router.get(
    "/datahub/datasets",
    response=list[DatasetOut],
    auth=api_access(MACHINE, STAFF),
    summary="The sharing catalog (政务数据资源目录): datasets, their fields and sharing",
)
def datasets(request: HttpRequest) -> list[DatasetOut]:
    out = []
    for dataset in selectors.dataset_list():
        out.append(
            DatasetOut(
                key=dataset.key,
                name=dataset.name,
                description=dataset.description,
                subject_type=dataset.subject_type,
                owner=dataset.owner.code,
                owner_name=dataset.owner.name,
                sharing=dataset.sharing,
                consent_required=dataset.consent_required,
                update_frequency=dataset.update_frequency,
                data_updated_at=dataset.data_updated_at,
                fields=[
                    FieldOut(
                        name=f.name,
                        element=f.element.key,
                        element_name=f.element.name,
                        data_type=f.element.data_type,
                        classification=f.element.classification,
                    )
                    for f in selectors.dataset_fields(dataset)
                ],
            )
        )
    return out


@router.get(
    "/datahub/{dataset}/{subject_key}",
    response=ReadOut,
    auth=api_access(MACHINE),
    summary="Read one subject's fields of a dataset (X-Case-Number and X-Purpose required)",
)
def read(
    request: HttpRequest,
    dataset: str = Path(..., max_length=64),
    subject_key: str = Path(..., max_length=64),
    fields: str = Query("", max_length=2000),
) -> ReadOut:
    """``subject_key`` is the citizen ID number (persons) or the USCC (enterprises); ``fields``
    is a comma-separated list. Every call, answered or refused, is in the access log."""
    subject = _subject(request)
    result = selectors.dataset_read(
        subject=subject,
        dataset_key=dataset,
        subject_key=subject_key,
        fields=fields.split(",") if fields else [],
        case_number=subject.case_number,
        purpose=subject.purpose,
    )
    return ReadOut(
        dataset=result.dataset,
        subject_type=result.subject_type,
        as_of=result.as_of,
        data=result.data,
        masked=result.masked,
        agreement_id=result.agreement_id,
    )


# --- the data subject ---------------------------------------------------------------------------


@router.get(
    "/me/access-log",
    response=AccessLogPageOut,
    auth=api_access(CITIZEN),
    summary="Who accessed my data (or, acting for an enterprise, its data)",
)
def access_log(request: HttpRequest, page: int = Query(1, ge=1, le=100000)) -> AccessLogPageOut:
    result = selectors.access_log_mine(subject=_subject(request), page=page)
    return AccessLogPageOut(
        items=[_log_out(row) for row in result.items],
        total=result.total,
        page=result.page,
        pages=result.pages,
    )


@router.get(
    "/me/consents",
    response=list[ConsentOut],
    auth=api_access(CITIZEN),
    summary="My consents to departments reading my data",
)
def consents(request: HttpRequest) -> list[ConsentOut]:
    return [_consent_out(c) for c in selectors.consents_mine(subject=_subject(request))]


@router.post(
    "/me/consents",
    response={201: ConsentOut},
    auth=api_access(CITIZEN),
    summary="Consent to a department reading a dataset, until a date or for one application",
)
def consent_grant(request: HttpRequest, body: ConsentIn) -> Status[ConsentOut]:
    consent = services.consent_grant(
        subject=_subject(request),
        dataset_key=body.dataset,
        department_code=body.department,
        purpose=body.purpose,
        expires_on=body.expires_on,
        case_number=body.case_number,
    )
    return Status(201, _consent_out(consent))


@router.post(
    "/me/consents/{consent_id}/revoke",
    response=ConsentOut,
    auth=api_access(CITIZEN),
    summary="Revoke one of my consents; the department's next read is refused",
)
def consent_revoke(
    request: HttpRequest, consent_id: int = Path(..., ge=1, le=MAX_ID)
) -> ConsentOut:
    consent = services.consent_revoke(subject=_subject(request), consent_id=consent_id)
    return _consent_out(consent)
