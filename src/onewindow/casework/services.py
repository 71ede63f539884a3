"""Every write to an application (办件): drafts, materials, submission and numbering, and the
lifecycle actions staff take on its work items (受理/不予受理, 补正, 中止, 延期, 审批, 办结).

One call is one transaction. Locks are always taken in the same order (process instance, work
item, application) so concurrent callers queue instead of deadlocking; events for notifications
are written to the outbox in the same transaction and delivered after commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from onewindow.audit.services import audit_record
from onewindow.casework import errors, selectors
from onewindow.casework.models import (
    OPEN_STATUSES,
    Application,
    Channel,
    DailySerial,
    Extension,
    ExtensionStatus,
    MaterialFile,
    ScanStatus,
    Status,
    SubmissionSeal,
    Supplement,
    Suspension,
    SuspensionReason,
    TimelineEvent,
)
from onewindow.catalog.models import (
    HandlingType,
    Material,
    MaterialSource,
    Necessity,
    ServiceItem,
    ServiceVersion,
)
from onewindow.catalog.schema import FormSchema, parse_schema, validate_answers
from onewindow.datahub import autofill
from onewindow.datahub.autofill import RegistryValue
from onewindow.events.services import emit, emit_many
from onewindow.identity.access import CITIZEN, STAFF, Subject
from onewindow.identity.backends import user_for_identifier
from onewindow.identity.errors import AGENT_OUT_OF_SCOPE
from onewindow.identity.models import Enterprise, User
from onewindow.identity.selectors import agent_may_act
from onewindow.kit import filetypes
from onewindow.kit.crypto import sm3_hex
from onewindow.kit.errors import NOT_FOUND, PERMISSION_DENIED, ApiError, FieldError
from onewindow.kit.expressions import compile_expression
from onewindow.license import keys as license_keys
from onewindow.license import selectors as license_selectors
from onewindow.org.selectors import platform_province_prefixes
from onewindow.workflow import services as workflow
from onewindow.workflow.calendar import deadline, working_days_left
from onewindow.workflow.errors import (
    OPINION_REQUIRED,
    TASK_ACTION_INVALID,
    TASK_CLAIMED_BY_OTHER,
    TASK_NOT_OPEN,
)
from onewindow.workflow.models import ProcessInstance, WorkItem, WorkItemKind, WorkItemStatus

MAX_FORM_BYTES = 64 * 1024
# Purposes written in the data hub's access log (stored text, shown to the applicant as is).
PREFILL_PURPOSE = "在线申请自动填表（本人数据）"
CHECK_PURPOSE = "申请信息与政务数据比对"
LIFECYCLE_ACTIONS = ("supplement", "suspend", "resume", "extend")
HANDLING_ACTIONS = ("claim", "release")


def today() -> dt.date:
    return timezone.localdate()


def _actor(subject: Subject) -> str:
    return subject.label


def _user(subject: Subject) -> User:
    if subject.user is None:
        raise ApiError(PERMISSION_DENIED)
    return subject.user


# --- helpers -----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _schema_for(version_id: int) -> FormSchema:
    # Published versions are immutable, so one parse per version is enough.
    raw = ServiceVersion.objects.values_list("form_schema", flat=True).get(pk=version_id)
    schema, _problems = parse_schema(raw)
    return schema


@lru_cache(maxsize=512)
def _handling_type(version_id: int) -> str:
    # Published versions are immutable: read once per process, not joined on every submission.
    found: str = ServiceVersion.objects.values_list("handling_type", flat=True).get(pk=version_id)
    return found


@lru_cache(maxsize=512)
def _is_bundle(item_id: int) -> bool:
    # Whether to run a bundle's pre-check before the submitting transaction, without loading
    # the item on every submission. An item never becomes a bundle (import refuses a bundle
    # key of an ordinary item); a bundle that became an item only runs a harmless pre-check,
    # and the locked row decides the rest.
    return ServiceItem.objects.filter(pk=item_id, is_bundle=True).exists()


@lru_cache(maxsize=512)
def _materials_for(version_id: int) -> tuple[Material, ...]:
    # A version's materials are written with the version and never change afterwards.
    return tuple(Material.objects.filter(version_id=version_id).order_by("order", "id"))


def _timeline(
    application: Application,
    kind: str,
    *,
    item: WorkItem | None = None,
    opinion: str = "",
    public: bool = False,
    **detail: Any,
) -> None:
    TimelineEvent.objects.create(
        application=application,
        kind=kind,
        step_name=item.step_name if item else "",
        department_name=item.department.name if item else "",
        actor_role=item.role if item else "",
        opinion=opinion,
        opinion_public=public,
        detail=detail,
    )


def _event(
    name: str,
    application: Application,
    suffix: str = "",
    recipients: list[int] | None = None,
    **params: Any,
) -> tuple[str, dict[str, Any], str]:
    """An outbox event about the application, for its applicant (or the given people). The
    parts of a bundle (一件事) do not tell the applicant themselves: the bundle does, once."""
    if recipients is None:
        recipients = [] if application.parent_id else [application.applicant_id]
    if application.parent_id:
        params["part_of"] = application.number.rsplit("-", 1)[0] if application.number else ""
    payload = {
        "recipients": recipients,
        "number": application.public_id,
        "service_name": application.service_name,
        "status": application.status,
        "link": f"/applications/{application.public_id}/",
        **params,
    }
    return name, payload, f"{name}:{application.public_id}{':' + suffix if suffix else ''}"


def _notify(
    name: str,
    application: Application,
    suffix: str = "",
    recipients: list[int] | None = None,
    **params: Any,
) -> None:
    """Write an outbox event about the application for its applicant (or the given people)."""
    emit_many([_event(name, application, suffix, recipients, **params)])


def _item_events(items: list[WorkItem]) -> list[tuple[str, dict[str, Any], str]]:
    """task.assigned for new work items: their department's holders of the step's role are
    told (looked up when the event is delivered)."""
    return [
        (
            "task.assigned",
            {
                "audience": {"department_id": item.department_id, "role": item.role},
                "number": item.case_number,
                "service_name": item.service_name,
                "step_name": item.step_name,
                "due_date": item.due_at.isoformat() if item.due_at else "",
                "link": f"/workbench/tasks/{item.pk}/",
            },
            f"task.assigned:{item.pk}",
        )
        for item in items
    ]


def _announce_items(items: list[WorkItem]) -> None:
    if items:
        emit_many(_item_events(items))


def _check_form_size(form_data: Any) -> dict[str, Any]:
    if form_data is None:
        return {}
    if not isinstance(form_data, Mapping):
        raise ApiError(
            errors.APPLICATION_INCOMPLETE,
            details=[FieldError("form_data", "type", _("The form data must be an object."))],
        )
    if len(json.dumps(form_data, ensure_ascii=False).encode("utf-8")) > MAX_FORM_BYTES:
        raise ApiError(
            errors.APPLICATION_INCOMPLETE,
            details=[FieldError("form_data", "too_large", _("The form data is too large."))],
        )
    return dict(form_data)


def _draft_answers(application: Application, form_data: Mapping[str, Any]) -> dict[str, Any]:
    """A draft keeps what was typed for the form's own fields (checked in full on submit)."""
    keys = _schema_for(application.service_version_id).keys()
    return {k: v for k, v in form_data.items() if k in keys}


def _answered(value: Any) -> bool:
    return value not in (None, "", [], {}) and not (
        isinstance(value, Mapping) and not any(value.values())
    )


def _as_answer(field_type: str, value: RegistryValue) -> Any:
    if field_type == "address" and value.region:
        return {"region": value.region, "detail": value.detail}
    return value.text


def _prefill(
    *,
    subject: Subject,
    application: Application,
    answers: dict[str, Any],
) -> list[str]:
    """Fill the unanswered fields that carry one of the applicant's own data elements from
    their registry entry (免填): never another person's data, never over a typed answer.
    Returns the keys filled."""
    schema = _schema_for(application.service_version_id)
    wanted = {
        f.key: f
        for f in schema.fields
        if f.dictionary_key in autofill.OWN_ELEMENTS and not _answered(answers.get(f.key))
    }
    if not wanted:
        return []
    values = autofill.own_registry_values(
        reader=subject,
        applicant=application.applicant,
        enterprise=application.enterprise,
        elements={f.dictionary_key for f in wanted.values()},
        purpose=PREFILL_PURPOSE,
    )
    filled = []
    for key, field in wanted.items():
        found = values.get(field.dictionary_key)
        if found is not None:
            answers[key] = _as_answer(field.type, found)
            filled.append(key)
    return filled


# --- drafts ------------------------------------------------------------------------------------


def _published(service_code: str) -> tuple[ServiceItem, ServiceVersion]:
    item = (
        ServiceItem.objects.select_related("department")
        .filter(is_active=True)
        .filter(key=service_code)
        .first()
    ) or ServiceItem.objects.filter(is_active=True, implementation_code=service_code).first()
    version = item.published_version() if item is not None else None
    if item is None or version is None or not version.online:
        raise ApiError(
            errors.SERVICE_NOT_AVAILABLE,
            details=[
                FieldError(
                    "service_code", "not_available", str(errors.SERVICE_NOT_AVAILABLE.message)
                )
            ],
        )
    return item, version


def may_apply(item: ServiceItem, applicant: User, enterprise: Enterprise | None) -> None:
    """Refuse a service that is not for this kind of applicant, or an agent acting for an
    enterprise outside the services it was granted."""
    if enterprise is not None:
        if not item.serves_organisations:
            raise ApiError(errors.SERVICE_AUDIENCE)
        if not agent_may_act(user=applicant, enterprise=enterprise, service_code=item.key):
            raise ApiError(AGENT_OUT_OF_SCOPE)
    elif not item.serves_individuals:
        raise ApiError(errors.SERVICE_AUDIENCE)


def application_create(
    *,
    subject: Subject,
    service_code: str,
    form_data: Mapping[str, Any] | None = None,
    citizen_id_number: str = "",
) -> Application:
    """A new draft. A citizen applies for themself, or for the enterprise they act for; a
    window clerk files for a walk-in citizen found by ID number (帮办代办, recorded as such)."""
    data = _check_form_size(form_data)
    item, version = _published(service_code)
    enterprise = None
    filed_by = None
    channel = Channel.ONLINE
    if subject.kind == STAFF and "window_clerk" in subject.roles:
        applicant = user_for_identifier(citizen_id_number) if citizen_id_number else None
        if applicant is None or applicant.kind != CITIZEN:
            raise ApiError(
                errors.CITIZEN_NOT_REGISTERED,
                details=[
                    FieldError(
                        "citizen_id_number",
                        "not_registered",
                        str(errors.CITIZEN_NOT_REGISTERED.message),
                    )
                ],
            )
        filed_by, channel = subject.user, Channel.COUNTER
    elif subject.kind == CITIZEN and subject.user is not None:
        applicant = subject.user
        enterprise = subject.acting_for
    else:
        raise ApiError(PERMISSION_DENIED)
    may_apply(item, applicant, enterprise)
    with transaction.atomic():
        application = Application(
            service_item=item,
            service_version=version,
            service_name=item.name,
            department=item.department,
            applicant=applicant,
            enterprise=enterprise,
            filed_by=filed_by,
            channel=channel,
        )
        answers = _draft_answers(application, data)
        application.prefilled = _prefill(subject=subject, application=application, answers=answers)
        application.form_data = answers
        application.save()
        _timeline(application, "created", counter=channel == Channel.COUNTER)
        audit_record(
            actor=_actor(subject),
            action="casework.create",
            object_type="casework.application",
            object_id=application.ref.hex,
            object_repr=item.name,
            detail={"channel": channel, "for": applicant.username} if filed_by else None,
        )
    return application


def _editable(application: Application) -> None:
    if application.status not in (Status.DRAFT, Status.SUPPLEMENT):
        raise ApiError(errors.APPLICATION_NOT_EDITABLE)
    if application.parent_id is not None:  # a part of a bundle: corrected on the bundle
        raise ApiError(errors.BUNDLE_PART_NOT_EDITABLE)


def application_update(
    *, subject: Subject, application: Application, form_data: Mapping[str, Any], version: int
) -> Application:
    """Replace the form answers of a draft (or of an application being corrected)."""
    data = _check_form_size(form_data)
    with transaction.atomic():
        _editable(application)
        answers = _draft_answers(application, data)
        changed = Application.objects.filter(
            pk=application.pk, version=version, status__in=[Status.DRAFT, Status.SUPPLEMENT]
        ).update(form_data=answers, version=F("version") + 1, updated_at=timezone.now())
        if not changed:
            raise ApiError(errors.APPLICATION_VERSION_CONFLICT)
        application.refresh_from_db()
        audit_record(
            actor=_actor(subject),
            action="casework.update",
            object_type="casework.application",
            object_id=application.public_id,
        )
    return application


# --- materials ---------------------------------------------------------------------------------


def _scan(data: bytes) -> str:
    """Run the configured virus scanner (ONEWINDOW_VIRUS_SCANNER: a callable(bytes) -> bool)."""
    path = settings.ONEWINDOW_VIRUS_SCANNER
    if not path:
        return ScanStatus.NOT_SCANNED
    scanner = import_string(path)
    return ScanStatus.CLEAN if scanner(data) else ScanStatus.INFECTED


def material_upload(
    *, subject: Subject, application: Application, material_key: str, name: str, data: bytes
) -> MaterialFile:
    """Store one file for one material. A replacement is a new version; nothing is overwritten."""
    _editable(application)
    material = Material.objects.filter(
        version_id=application.service_version_id, key=material_key
    ).first()
    field = "material_key"
    if material is None:
        raise ApiError(
            errors.MATERIAL_UNKNOWN,
            details=[FieldError(field, "unknown", str(errors.MATERIAL_UNKNOWN.message))],
        )
    if not data:
        raise ApiError(errors.MATERIAL_EMPTY, details=[FieldError("file", "empty", "")])
    if len(data) > settings.ONEWINDOW_MATERIAL_MAX_BYTES:
        raise ApiError(
            errors.MATERIAL_TOO_LARGE,
            details=[
                FieldError(
                    "file",
                    "too_large",
                    _("At most %(mb)s MB.")
                    % {"mb": settings.ONEWINDOW_MATERIAL_MAX_BYTES // (1024 * 1024)},
                )
            ],
        )
    content_type = filetypes.sniff(data)
    if content_type is None:
        raise ApiError(
            errors.MATERIAL_TYPE_NOT_ALLOWED,
            details=[FieldError("file", "type", str(errors.MATERIAL_TYPE_NOT_ALLOWED.message))],
        )
    scan = _scan(data)
    if scan == ScanStatus.INFECTED:
        audit_record(
            actor=_actor(subject),
            action="casework.material_infected",
            outcome="failure",
            object_type="casework.application",
            object_id=application.public_id,
            detail={"material": material_key},
        )
        raise ApiError(errors.MATERIAL_INFECTED, details=[FieldError("file", "infected", "")])
    digest = sm3_hex(data)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        _editable(locked)
        previous = (
            MaterialFile.objects.filter(application=locked, material_key=material_key)
            .order_by("-version")
            .first()
        )
        version = previous.version + 1 if previous else 1
        MaterialFile.objects.filter(
            application=locked, material_key=material_key, current=True
        ).update(current=False)
        stored = ContentFile(
            data,
            name=f"{locked.ref.hex}-{material_key}-v{version}-{digest[:16]}."
            f"{filetypes.EXTENSIONS[content_type]}",
        )
        row = MaterialFile.objects.create(
            application=locked,
            material_key=material_key,
            material_name=material.name,
            version=version,
            current=True,
            file=stored,
            original_name=(name or "upload")[:200],
            content_type=content_type,
            size=len(data),
            sm3=digest,
            scan_status=scan,
            uploaded_by=_user(subject),
        )
        Application.objects.filter(pk=locked.pk).update(version=F("version") + 1)
        audit_record(
            actor=_actor(subject),
            action="casework.material_upload",
            object_type="casework.application",
            object_id=locked.public_id,
            detail={"material": material_key, "version": version, "sm3": digest},
        )
    return row


# --- checks and submission ---------------------------------------------------------------------


LicenseSources = Mapping[str, Any]  # material key -> the e-license used (or None: upload it)


def license_sources(application: Application) -> dict[str, Any]:
    """The e-licenses that provide this application's license materials (免提交): for each
    material whose source is a license type this platform issues, the holder's valid license
    (the enterprise's when filed for one, else the applicant's own), or None when the holder
    has none and must upload the material. Materials from types the platform does not issue
    are absent: the department fetches those from the national e-license library."""
    materials = [
        m
        for m in _materials_for(application.service_version_id)
        if m.source == MaterialSource.LICENSE and m.license_type
    ]
    if not materials:
        return {}
    found = license_selectors.licenses_for_materials(
        type_keys={m.license_type for m in materials},
        applicant_id=application.applicant_id,
        enterprise_id=application.enterprise_id,
    )
    return {m.key: found[m.license_type] for m in materials if m.license_type in found}


def material_need(
    material: Material, answers: Mapping[str, Any], sources: LicenseSources | None = None
) -> str:
    """Whether a material must be uploaded with these (cleaned) answers: ``license`` (the
    holder's valid e-license provides it, 免提交), ``exempt`` (an e-license the department
    fetches from the national library), ``required``, ``conditional_needed``,
    ``conditional_not_needed`` or ``optional``. A license material whose type this platform
    issues but the holder does not have falls back to its necessity: it is uploaded."""
    if material.source == MaterialSource.LICENSE:
        if sources is None or material.key not in sources:
            return "exempt"
        if sources[material.key] is not None:
            return "license"
    if material.necessity == Necessity.REQUIRED:
        return "required"
    if material.necessity == Necessity.CONDITIONAL and material.required_if:
        needed = compile_expression(material.required_if).evaluate(answers)
        return "conditional_needed" if needed else "conditional_not_needed"
    return "optional"


def _material_required(
    material: Material, answers: Mapping[str, Any], sources: LicenseSources | None = None
) -> bool:
    return material_need(material, answers, sources) in ("required", "conditional_needed")


def _jsonable(value: Any) -> Any:
    """Cleaned answers as JSON: numbers stay numbers (exact ones as int)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def current_files(application: Application) -> dict[str, tuple[int, str]]:
    """The current file of each material: key -> (version, SM3)."""
    rows = MaterialFile.objects.filter(application=application, current=True).values_list(
        "material_key", "version", "sm3"
    )
    return {key: (version, digest) for key, version, digest in rows}


def application_problems(
    application: Application,
    sources: LicenseSources | None = None,
    files: Mapping[str, tuple[int, str]] | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Every problem that stops submission, at once: form answers, then missing materials
    (``sources``: :func:`license_sources`, ``files``: :func:`current_files`, each read here
    when not given)."""
    if sources is None:
        sources = license_sources(application)
    schema = _schema_for(application.service_version_id)
    cleaned, answer_errors = validate_answers(
        schema, application.form_data, extra_provinces=platform_province_prefixes()
    )
    problems = [FieldError(f"form_data.{e.field}", e.code, e.message) for e in answer_errors]
    uploaded = set(files if files is not None else current_files(application))
    for material in _materials_for(application.service_version_id):
        if material.key not in uploaded and _material_required(material, cleaned, sources):
            problems.append(
                FieldError(
                    f"materials.{material.key}",
                    "required",
                    _("Upload “%(name)s”.") % {"name": material.name},
                )
            )
    return _jsonable(cleaned), problems


def _next_number(item: ServiceItem, day: dt.date) -> str:
    """实施编码 + yyyyMMdd + five-digit daily serial, taken with an UPDATE in this transaction."""
    prefix = item.implementation_code
    table = DailySerial._meta.db_table
    # One statement (SQLite >= 3.35 and PostgreSQL both have upsert ... RETURNING): the row
    # lock is taken and the serial read in a single round trip.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, day, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (prefix, day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [prefix, day],
        )
        (last,) = cursor.fetchone()
    return f"{prefix}{day:%Y%m%d}{last:05d}"


def _process_for(application: Application) -> Any:
    key = application.service_item.key
    row = workflow.definition_latest(key)
    if row is None:
        instant = _handling_type(application.service_version_id) == HandlingType.INSTANT
        fallback = "instant" if instant else "standard"
        row = workflow.definition_latest(fallback)
    if row is None:
        raise ApiError(errors.SERVICE_NOT_AVAILABLE)
    return row


def _locked_application(pk: int) -> Application:
    """The application row, locked, with what submission and its answer read."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related(*selectors.LOCKED_RELATED)
        .get(pk=pk)
    )


@dataclass(frozen=True)
class Submitted:
    """A submitted application and, when the submission knows them, its current steps and
    current materials as they would be read back (None: read them)."""

    application: Application
    steps: list[WorkItem] | None = None
    materials: list[MaterialFile] | None = None


def application_submit_visible(*, subject: Subject, public_id: str) -> Submitted:
    """Submit the application with this number or draft reference if the subject may see it
    (the API's submit). A plain draft is found, checked and submitted under one lock, and the
    answer's steps and materials are what the submission wrote: three reads fewer than
    :func:`application_submit` and reading the answer back. Anything else (a bundle, a
    correction, a part) takes :func:`application_submit`."""
    with transaction.atomic():
        locked = selectors.application_visible(
            subject=subject, public_id=public_id, purpose="handling", for_update=True
        )
        if (
            locked.parent_id is None
            and locked.status == Status.DRAFT
            and not locked.service_item.is_bundle
        ):
            return _submit_locked(subject, locked, today())
    return Submitted(application_submit(subject=subject, application=locked))


def application_submit(*, subject: Subject, application: Application) -> Application:
    """Submit a draft (numbered, work starts), or return a correction (补正) all at once."""
    from onewindow.casework import bundles

    if application.parent_id is not None:
        raise ApiError(errors.BUNDLE_PART_NOT_EDITABLE)
    if application.status == Status.SUPPLEMENT:
        if application.service_item.is_bundle:
            return bundles.supplement_return(subject=subject, application=application)
        return _supplement_return(subject=subject, application=application)
    day = today()
    if application.status == Status.DRAFT and _is_bundle(application.service_item_id):
        bundles.precheck_or_raise(subject, application)
    with transaction.atomic():
        locked = _locked_application(application.pk)
        return _submit_locked(subject, locked, day).application


def _submit_locked(subject: Subject, locked: Application, day: dt.date) -> Submitted:
    """Submit a draft read under lock (in the caller's transaction)."""
    from onewindow.casework import bundles

    if locked.status != Status.DRAFT:
        raise ApiError(errors.APPLICATION_NOT_EDITABLE)
    sources = license_sources(locked)
    current = selectors.materials(application=locked)
    files = {m.material_key: (m.version, m.sm3) for m in current}
    cleaned, problems = application_problems(locked, sources, files)
    if problems:
        raise ApiError(errors.APPLICATION_INCOMPLETE, details=problems)
    if locked.service_item.is_bundle:
        return Submitted(bundles.submit(subject, locked, cleaned, sources, files, day))
    definition = _process_for(locked)
    locked.number = _next_number(locked.service_item, day)
    locked.form_data = cleaned
    locked.status = Status.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.process_key = f"{definition.key}@{definition.version}"
    locked.version += 1
    # The number comes from the daily serial row locked above, so it cannot collide.
    locked.save()
    outcome = workflow.process_start(
        case_number=locked.number,
        definition_row=definition,
        owner_department=locked.department,
        service_name=locked.service_name,
        variables=cleaned,
        today=day,
    )
    used = _licenses_used(sources)
    extra: dict[str, Any] = {"licenses": used} if used else {}
    _timeline(locked, "submitted", counter=locked.channel == Channel.COUNTER, **extra)
    _seal(locked, "submitted", files, used)
    emit_many([_event("application.submitted", locked), *_item_events(outcome.created)])
    audit_record(
        actor=_actor(subject),
        action="casework.submit",
        object_type="casework.application",
        object_id=locked.number,
        object_repr=locked.service_name,
    )
    steps = sorted(
        (i for i in outcome.created if i.status in selectors.CURRENT_STEP_STATUSES),
        key=selectors.current_step_order,
    )
    return Submitted(locked, steps=steps, materials=current)


# --- the seal (签名存证) ----------------------------------------------------------------------


def sealed_bytes(
    application: Application,
    files: Mapping[str, tuple[int, str]],
    licenses: Mapping[str, str],
) -> bytes:
    """The canonical JSON of exactly what was submitted: number, service version, applicant,
    enterprise, cleaned answers, each material's version and SM3, the e-licenses used."""
    return json.dumps(
        {
            "number": application.number,
            "service_version": application.service_version_id,
            "applicant": application.applicant_id,
            "enterprise": application.enterprise_id,
            "answers": application.form_data,
            "materials": {key: {"version": v, "sm3": h} for key, (v, h) in files.items()},
            "licenses": dict(licenses),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def _licenses_used(sources: LicenseSources) -> dict[str, str]:
    """Material key -> identifier of the e-license that provided it."""
    return {key: row.identifier for key, row in sources.items() if row is not None}


def _seal(
    application: Application,
    kind: str,
    files: Mapping[str, tuple[int, str]],
    licenses: Mapping[str, str],
) -> None:
    payload = sealed_bytes(application, files, licenses)
    key = license_keys.platform_key()
    SubmissionSeal.objects.create(
        application=application,
        kind=kind,
        digest=sm3_hex(payload),
        signature=license_keys.sm2_sign(key, payload),
        key_id=key.key_id,
        licenses=dict(licenses),
    )


@dataclass(frozen=True)
class SealCheck:
    sealed: bool  # a seal exists
    intact: bool  # the answers and files are still what was sealed, and the signature holds
    sealed_at: dt.datetime | None = None
    kind: str = ""
    correcting: bool = False  # the applicant is correcting it (补正): sealed again on return


def seal_check(application: Application) -> SealCheck:
    """Is what the department sees exactly what was last submitted (or returned)? While the
    applicant corrects it (补正) the answers and files may change: nothing is compared then."""
    seal = application.seals.order_by("-sealed_at", "-id").first()
    if seal is None:
        return SealCheck(sealed=False, intact=False)
    if application.status in (Status.DRAFT, Status.SUPPLEMENT):
        return SealCheck(True, False, seal.sealed_at, seal.kind, correcting=True)
    payload = sealed_bytes(application, current_files(application), seal.licenses)
    key = license_keys.key_by_id(seal.key_id)
    intact = (
        key is not None
        and sm3_hex(payload) == seal.digest
        and license_keys.sm2_verify(key, payload, seal.signature)
    )
    return SealCheck(sealed=True, intact=intact, sealed_at=seal.sealed_at, kind=seal.kind)


# --- the clock -----------------------------------------------------------------------------


def _pause_clock(application: Application, day: dt.date, status: str) -> None:
    application.resume_status = application.status
    application.status = status
    application.paused_on = day
    if application.due_date is not None:
        application.remaining_days = working_days_left(day, application.due_date)
        application.due_date = None


def _resume_clock(application: Application, day: dt.date) -> None:
    application.status = application.resume_status or Status.SUBMITTED
    application.resume_status = ""
    application.paused_on = None
    if application.remaining_days is not None:
        due, provisional = workflow.resumed_due(day, application.remaining_days)
        application.due_date, application.provisional = due, provisional
        application.remaining_days = None


# --- staff actions on work items ---------------------------------------------------------------


@dataclass
class ActionResult:
    item: WorkItem
    application: Application
    created: list[WorkItem]


def _authorise_item(subject: Subject, item: WorkItem) -> None:
    if (
        subject.kind != STAFF
        or subject.department_id != item.department_id
        or item.role not in subject.roles
    ):
        raise ApiError(NOT_FOUND)


def task_act(
    *,
    subject: Subject,
    item_id: int,
    action: str,
    version: int,
    opinion: str = "",
    items: Sequence[Mapping[str, Any]] | None = None,
    reason: str = "",
) -> ActionResult:
    """One action on one work item; exactly one of two concurrent callers wins (the other gets
    TASK_VERSION_CONFLICT and changes nothing)."""
    opinion = (opinion or "").strip()
    day = today()
    with transaction.atomic():
        instance, item = workflow.item_lock(
            item_id=item_id,
            version=version,
            open_only=False,
            authorise=lambda row: _authorise_item(subject, row),
        )
        application = Application.objects.select_for_update().get(number=item.case_number)
        if action == "claim":
            claimed = workflow.item_claim(item_id=item.pk, version=version, user=subject.user)
            return ActionResult(claimed, application, [])
        if action == "release":
            released = workflow.item_release(item_id=item.pk, version=version, user=subject.user)
            return ActionResult(released, application, [])
        if item.assignee_id not in (None, subject.user.pk if subject.user else None):
            raise ApiError(TASK_CLAIMED_BY_OTHER)
        if item.kind == WorkItemKind.EXTENSION:
            created = _extension_decide(subject, instance, item, application, action, opinion, day)
        elif action == "resume":
            created = _suspension_end(subject, instance, item, application, day)
        elif item.status != WorkItemStatus.OPEN:
            raise ApiError(TASK_NOT_OPEN)
        elif action == "supplement":
            created = _supplement_request(subject, instance, item, application, opinion, items, day)
        elif action == "suspend":
            created = _suspension_start(subject, instance, item, application, reason, opinion, day)
        elif action == "extend":
            created = _extension_request(subject, instance, item, application, opinion, day)
        else:
            created = _engine_action(
                subject.user, instance, item, application, action, opinion, day
            )
        application.version += 1
        application.save()
        if application.parent_id is not None:
            from onewindow.casework import bundles

            extended = item.kind == WorkItemKind.EXTENSION and action == "approve"
            created = [
                *created,
                *bundles.part_changed(application, day, "extended" if extended else action),
            ]
        audit_record(
            actor=_actor(subject),
            action=f"casework.task.{action}",
            object_type="casework.application",
            object_id=application.number or "",
            detail={"task": item.pk, "step": item.step},
        )
        item.refresh_from_db()
        return ActionResult(item, application, created)


def _lifecycle_allowed(item: WorkItem, name: str) -> None:
    if name not in item.lifecycle:
        raise ApiError(
            TASK_ACTION_INVALID, details=[FieldError("action", "not_at_this_step", name)]
        )


def _need_opinion(opinion: str) -> None:
    if not opinion:
        raise ApiError(
            OPINION_REQUIRED,
            details=[FieldError("opinion", "required", str(OPINION_REQUIRED.message))],
        )


def _engine_action(
    user: User | None,
    instance: ProcessInstance,
    item: WorkItem,
    application: Application,
    action: str,
    opinion: str,
    day: dt.date,
) -> list[WorkItem]:
    outcome = workflow.item_complete(
        instance=instance,
        item=item,
        action=action,
        opinion=opinion,
        user=user,
        variables=application.form_data,
        today=day,
        cap=application.due_date,
    )
    _timeline(application, "step_done", item=item, opinion=opinion, action=action)
    now = timezone.now()
    for effect in outcome.effect_names:
        if effect == "accept":
            application.status = Status.IN_REVIEW
            application.accepted_at, application.accepted_on = now, day
            application.limit_days = application.service_version.promised_limit_days
            due = deadline(day, application.limit_days)
            application.due_date, application.provisional = due.due_date, due.provisional
            workflow.instance_items_cap(instance=instance, cap=due.due_date)
            _timeline(application, "accepted", item=item, due_date=due.due_date.isoformat())
            _notify("application.accepted", application, due_date=due.due_date.isoformat())
        elif effect == "not_accept":
            application.status = Status.NOT_ACCEPTED
            application.outcome_reason = opinion
            application.decided_at = now
            _timeline(application, "not_accepted", item=item, opinion=opinion, public=True)
            _notify("application.not_accepted", application, reason=opinion)
        elif effect == "approve":
            application.status = Status.APPROVED
            application.decided_at = now
            _timeline(application, "approved", item=item)
            _notify("application.approved", application)
        elif effect == "reject":
            application.status = Status.REJECTED
            application.outcome_reason = opinion
            application.decided_at = now
            _timeline(application, "rejected", item=item, opinion=opinion, public=True)
            _notify("application.rejected", application, reason=opinion)
        elif effect == "complete":
            _complete(application, now)
    if outcome.finished and application.status in (Status.APPROVED, Status.REJECTED):
        _complete(application, now)
    _announce_items(outcome.created)
    return outcome.created


def _complete(application: Application, now: dt.datetime) -> None:
    application.status = Status.COMPLETED
    application.completed_at = now
    _timeline(application, "completed")
    _notify("application.completed", application)


def _supplement_request(
    subject: Subject,
    instance: ProcessInstance,
    item: WorkItem,
    application: Application,
    opinion: str,
    items: Sequence[Mapping[str, Any]] | None,
    day: dt.date,
) -> list[WorkItem]:
    """补正: one list of everything to correct; the clock stops until the applicant returns."""
    _lifecycle_allowed(item, "supplement")
    listed = _supplement_items(application, items or [])
    if application.supplements.exists():
        raise ApiError(errors.SUPPLEMENT_ALREADY_REQUESTED)
    Supplement.objects.create(application=application, items=listed, requested_by=_user(subject))
    workflow.item_note(item=item, detail={**item.detail, "supplement_requested": day.isoformat()})
    workflow.instance_pause(instance=instance, today=day)
    _pause_clock(application, day, Status.SUPPLEMENT)
    _timeline(
        application, "supplement_requested", item=item, opinion=opinion, public=True, items=listed
    )
    _notify(
        "application.supplement_requested",
        application,
        reason=opinion,
        items=[i["name"] for i in listed],
    )
    return []


def _supplement_items(
    application: Application, raw: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """Check the reviewer's list: each entry names a form field or a material and says why."""
    schema = _schema_for(application.service_version_id)
    materials = dict(
        Material.objects.filter(version_id=application.service_version_id).values_list(
            "key", "name"
        )
    )
    listed: list[dict[str, str]] = []
    problems: list[FieldError] = []
    for index, entry in enumerate(raw):
        key = str(entry.get("key", "")) if isinstance(entry, Mapping) else ""
        reason = str(entry.get("reason", "")).strip() if isinstance(entry, Mapping) else ""
        field = schema.field(key)
        if field is not None:
            listed.append({"kind": "field", "key": key, "name": field.label, "reason": reason})
        elif key in materials:
            listed.append(
                {"kind": "material", "key": key, "name": materials[key], "reason": reason}
            )
        else:
            problems.append(FieldError(f"items[{index}].key", "unknown", key))
        if not reason:
            problems.append(
                FieldError(f"items[{index}].reason", "required", _("Say what is wrong."))
            )
    if not raw:
        problems.append(
            FieldError("items", "required", str(errors.SUPPLEMENT_ITEMS_REQUIRED.message))
        )
    if problems:
        raise ApiError(errors.SUPPLEMENT_ITEMS_REQUIRED, details=problems)
    return listed


def _supplement_return(*, subject: Subject, application: Application) -> Application:
    """The applicant returns every correction at once; the clock restarts where it stopped."""
    day = today()
    with transaction.atomic():
        instance = ProcessInstance.objects.select_for_update().get(case_number=application.number)
        locked = _locked_application(application.pk)
        if locked.status != Status.SUPPLEMENT:
            raise ApiError(errors.APPLICATION_NOT_EDITABLE)
        sources = license_sources(locked)
        files = current_files(locked)
        cleaned, problems = application_problems(locked, sources, files)
        if problems:
            raise ApiError(errors.APPLICATION_INCOMPLETE, details=problems)
        supplement = locked.supplements.get(returned_at__isnull=True)
        supplement.returned_at = timezone.now()
        supplement.save(update_fields=["returned_at"])
        locked.form_data = cleaned
        _resume_clock(locked, day)
        locked.version += 1
        locked.save()
        workflow.instance_resume(instance=instance, today=day)
        _timeline(locked, "supplement_returned")
        _seal(locked, "supplement_returned", files, _licenses_used(sources))
        _notify(
            "application.supplement_returned",
            locked,
            recipients=[supplement.requested_by_id],
        )
        audit_record(
            actor=_actor(subject),
            action="casework.supplement_return",
            object_type="casework.application",
            object_id=locked.number or "",
        )
    return locked


def _suspension_start(
    subject: Subject,
    instance: ProcessInstance,
    item: WorkItem,
    application: Application,
    reason: str,
    opinion: str,
    day: dt.date,
) -> list[WorkItem]:
    """Excluded time (行政许可法 Art. 45): hearing, testing, appraisal, expert review."""
    _lifecycle_allowed(item, "suspend")
    if reason not in SuspensionReason.values:
        raise ApiError(
            errors.SUSPENSION_REASON_REQUIRED,
            details=[
                FieldError("reason", "invalid", str(errors.SUSPENSION_REASON_REQUIRED.message))
            ],
        )
    Suspension.objects.create(
        application=application,
        reason=reason,
        note=opinion,
        started_on=day,
        started_by=_user(subject),
    )
    workflow.instance_pause(instance=instance, today=day)
    _pause_clock(application, day, Status.SUSPENDED)
    label = str(SuspensionReason(reason).label)
    _timeline(application, "suspended", item=item, opinion=opinion, public=True, reason=reason)
    _notify("application.suspended", application, reason=label)
    return []


def _suspension_end(
    subject: Subject,
    instance: ProcessInstance,
    item: WorkItem,
    application: Application,
    day: dt.date,
) -> list[WorkItem]:
    if application.status != Status.SUSPENDED or item.status != WorkItemStatus.PAUSED:
        raise ApiError(TASK_ACTION_INVALID, details=[FieldError("action", "not_suspended", "")])
    Suspension.objects.filter(application=application, ended_on__isnull=True).update(ended_on=day)
    _resume_clock(application, day)
    workflow.instance_resume(instance=instance, today=day)
    _timeline(application, "resumed", item=item)
    _notify("application.resumed", application)
    return []


def _extension_request(
    subject: Subject,
    instance: ProcessInstance,
    item: WorkItem,
    application: Application,
    opinion: str,
    day: dt.date,
) -> list[WorkItem]:
    """延期: the reviewer asks, the department head decides (a work item of their own)."""
    _lifecycle_allowed(item, "extend")
    _need_opinion(opinion)
    if application.extensions.exists():
        raise ApiError(errors.EXTENSION_ALREADY_REQUESTED)
    head_item = workflow.extension_item_create(
        instance=instance,
        department=item.department,
        service_name=application.service_name,
        today=day,
    )
    Extension.objects.create(
        application=application,
        days=settings.ONEWINDOW_EXTENSION_DAYS,
        reason=opinion,
        requested_by=_user(subject),
        work_item_id=head_item.pk,
    )
    workflow.item_note(item=item)
    _timeline(application, "extension_requested", item=item, opinion=opinion)
    _announce_items([head_item])
    return [head_item]


def _extension_decide(
    subject: Subject,
    instance: ProcessInstance,
    item: WorkItem,
    application: Application,
    action: str,
    opinion: str,
    day: dt.date,
) -> list[WorkItem]:
    if item.status != WorkItemStatus.OPEN or action not in ("approve", "refuse"):
        raise ApiError(
            TASK_ACTION_INVALID, details=[FieldError("action", "unknown_action", action)]
        )
    extension = Extension.objects.select_for_update().get(work_item_id=item.pk)
    if action == "refuse":
        _need_opinion(opinion)
    extension.status = ExtensionStatus.APPROVED if action == "approve" else ExtensionStatus.REFUSED
    extension.decided_by, extension.decided_at = subject.user, timezone.now()
    extension.save()
    workflow.item_close(item=item, user=subject.user, action=action, opinion=opinion)
    if action == "refuse":
        _timeline(application, "extension_refused", item=item, opinion=opinion)
        return []
    application.extension_days += extension.days
    if application.due_date is not None:
        old = application.due_date
        due = deadline(old, extension.days)
        application.due_date, application.provisional = due.due_date, due.provisional
        workflow.instance_items_recap(instance=instance, old_cap=old, new_cap=due.due_date)
    elif application.remaining_days is not None:
        application.remaining_days += extension.days
    _timeline(
        application,
        "extended",
        item=item,
        opinion=extension.reason,
        public=True,
        days=extension.days,
        due_date=application.due_date.isoformat() if application.due_date else "",
    )
    _notify(
        "application.extended",
        application,
        reason=extension.reason,
        days=extension.days,
        due_date=application.due_date.isoformat() if application.due_date else "",
    )
    return []


# --- the cross-check with the registries (跨部门材料自动比对) -------------------------------------


def registry_check(*, number: str) -> list[dict[str, str]]:
    """Compare the submitted answers that carry the applicant's own data elements with their
    registry entry and keep every difference on the application, for the reviewer (the typed
    answer is never changed). Read by the platform itself, logged for the applicant to see.
    Run by the outbox consumer after submission and after a correction is returned."""
    application = (
        Application.objects.select_related("applicant", "enterprise").filter(number=number).first()
    )
    if application is None or application.status in (Status.DRAFT, Status.COMPLETED):
        return []
    schema = _schema_for(application.service_version_id)
    fields = [
        f
        for f in schema.fields
        if f.dictionary_key in autofill.OWN_ELEMENTS and _answered(application.form_data.get(f.key))
    ]
    checks: list[dict[str, str]] = []
    if fields:
        values = autofill.own_registry_values(
            reader=None,
            applicant=application.applicant,
            enterprise=application.enterprise,
            elements={f.dictionary_key for f in fields},
            purpose=CHECK_PURPOSE,
            case_number=number,
        )
        for field in fields:
            found = values.get(field.dictionary_key)
            if found is not None and not autofill.same_value(
                application.form_data[field.key], found
            ):
                checks.append(
                    {
                        "field": field.key,
                        "label": field.label,
                        "element": field.dictionary_key,
                        "registry": autofill.masked_text(field.dictionary_key, found),
                    }
                )
    Application.objects.filter(pk=application.pk).update(
        registry_checks=checks, registry_checked_at=timezone.now()
    )
    return checks


# --- periodic ----------------------------------------------------------------------------------


def overdue_scan(*, day: dt.date | None = None) -> int:
    """Escalate red work items to their department's heads, once per item (task.overdue)."""
    day = day or today()
    count = 0
    with transaction.atomic():
        for item in workflow.overdue_escalate(today=day):
            emit(
                "task.overdue",
                {
                    "audience": {"department_id": item.department_id, "role": "department_head"},
                    "recipients": [item.assignee_id] if item.assignee_id else [],
                    "number": item.case_number,
                    "service_name": item.service_name,
                    "step_name": item.step_name,
                    "due_date": item.due_at.isoformat() if item.due_at else "",
                    "link": f"/workbench/tasks/{item.pk}/",
                },
                key=f"task.overdue:{item.pk}",
            )
            count += 1
    return count


def is_open(application: Application) -> bool:
    return application.status in OPEN_STATUSES
