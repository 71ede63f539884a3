"""E-license writes: issue (also automatically on approval), change status, verify.

Every verification is written to ``Verification`` (append-only); issuing and status changes
leave audit rows and outbox events (``license.issued``, ``license.status_changed``) that reach
the holder as notifications.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onewindow.audit.services import audit_record
from onewindow.events.services import emit_many
from onewindow.identity import crypto
from onewindow.identity.access import STAFF, Subject
from onewindow.identity.models import Enterprise, Role, User
from onewindow.kit import context
from onewindow.kit.crypto import sm3_hex
from onewindow.kit.errors import ApiError, ErrorCode, FieldError
from onewindow.kit.expressions import compile_expression
from onewindow.kit.license_id import LicenseIdError, license_identifier, parse_license_identifier
from onewindow.kit.masking import mask_id_number, mask_name
from onewindow.license import errors, keys, pdf
from onewindow.license.models import (
    HOLDER_CODE_TYPE,
    Channel,
    HolderKind,
    License,
    LicenseType,
    SigningKey,
    Status,
    StatusChange,
    Verification,
)
from onewindow.org.models import Department

HOLDER_PURPOSE = "license.holder_code"
SERIAL_WIDTH = 8
HOLDER_CODE_LABEL = {HolderKind.PERSON: "公民身份号码", HolderKind.ORGANISATION: "统一社会信用代码"}


def field_error(error: ErrorCode, field: str) -> ApiError:
    """``error`` naming the input field it is about (``details[0].field``)."""
    return ApiError(error, details=[FieldError(field, error.code.lower(), error.message)])


def verify_url(identifier: str) -> str:
    return f"{settings.PUBLIC_URL}/verify/{identifier}"


def _valid_until(start: dt.date, years: int | None) -> dt.date | None:
    """The last valid day: the day before the same date ``years`` later (None: 长期)."""
    if years is None:
        return None
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # from 29 February: the same date later is 1 March
        end = dt.date(start.year + years, 3, 1)
    return end - dt.timedelta(days=1)


def signed_bytes(row: License, holder_code: str) -> bytes:
    """The canonical bytes that the SM2 signature covers (and the SM3 digest is taken of)."""
    return json.dumps(
        {
            "identifier": row.identifier,
            "type_code": row.license_type.code,
            "type_name": row.license_type.name,
            "holder_code_type": row.holder_code_type,
            "holder_code": holder_code,
            "holder_name": row.holder_name,
            "issuer_code": row.issuer.uscc,
            "issuer_name": row.issuer.name,
            "issued_on": row.issued_on.isoformat(),
            "valid_from": row.valid_from.isoformat(),
            "valid_until": row.valid_until.isoformat() if row.valid_until else None,
            "data": row.data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def _next_serial(license_type: LicenseType) -> int:
    with transaction.atomic():
        LicenseType.objects.filter(pk=license_type.pk).update(last_serial=F("last_serial") + 1)
        serial: int = LicenseType.objects.values_list("last_serial", flat=True).get(
            pk=license_type.pk
        )
    return serial


def _masked_code(kind: str, code: str) -> str:
    return mask_id_number(code) if kind == HolderKind.PERSON else code


def _printout(row: License, holder_code: str) -> pdf.Printout:
    return pdf.Printout(
        title=row.license_type.name,
        identifier=row.identifier,
        holder_name=row.holder_name,
        holder_code=_masked_code(row.holder_kind, holder_code),
        holder_code_label=HOLDER_CODE_LABEL[HolderKind(row.holder_kind)],
        fields=tuple((str(label), str(value)) for label, value in row.data),
        issuer_name=row.issuer.name,
        issued_on=row.issued_on,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        verify_url=verify_url(row.identifier),
    )


def license_issue(
    *,
    license_type: LicenseType,
    holder_name: str,
    holder_code: str,
    data: list[tuple[str, str]],
    holder_user: User | None = None,
    holder_enterprise: Enterprise | None = None,
    application_number: str = "",
    issued_on: dt.date | None = None,
    actor: str = "system",
    notify: bool = True,
) -> License:
    """Issue a license: identifier with its check character, SM2 signature over its data,
    the PDF with a QR code to the verification page, signed with the department's key."""
    issuer: Department = license_type.department
    key = keys.active_key(issuer)
    day = issued_on or timezone.localdate()
    serial = _next_serial(license_type)
    row = License(
        identifier=license_identifier(
            license_type.code, issuer.uscc, f"{serial:0{SERIAL_WIDTH}d}", "001"
        ),
        license_type=license_type,
        serial=serial,
        version="001",
        holder_kind=license_type.holder_kind,
        holder_code_type=HOLDER_CODE_TYPE[HolderKind(license_type.holder_kind)],
        holder_name=holder_name,
        holder_code_encrypted=crypto.encrypt(holder_code, HOLDER_PURPOSE),
        holder_code_masked=_masked_code(license_type.holder_kind, holder_code),
        holder_user=holder_user,
        holder_enterprise=holder_enterprise,
        issuer=issuer,
        issued_on=day,
        valid_from=day,
        valid_until=_valid_until(day, license_type.validity_years),
        data=[[str(label), str(value)] for label, value in data],
        signing_key=key,
        application_number=application_number,
    )
    payload = signed_bytes(row, holder_code)
    row.digest = sm3_hex(payload)
    row.signature = keys.sm2_sign(key, payload)
    key_pem, cert_pem = keys.pdf_signer(key)
    document = pdf.sign(
        pdf.render(_printout(row, holder_code)),
        key_pem=key_pem,
        cert_pem=cert_pem,
        reason=f"{issuer.name}签发{license_type.name}",
        location=issuer.name,
    )
    row.pdf_sm3 = sm3_hex(document)
    row.pdf.save(f"{row.identifier}.pdf", ContentFile(document), save=False)
    try:
        _store(row, actor, notify, holder_user, holder_enterprise, license_type, key)
    except BaseException:
        row.pdf.delete(save=False)  # no orphan file when the row is not written
        raise
    return row


def _store(
    row: License,
    actor: str,
    notify: bool,
    holder_user: User | None,
    holder_enterprise: Enterprise | None,
    license_type: LicenseType,
    key: SigningKey,
) -> None:
    application_number = row.application_number
    with transaction.atomic():
        row.save()
        recipients = [holder_user.pk] if holder_user is not None else []
        if holder_enterprise is not None:
            recipients.append(holder_enterprise.legal_representative_id)
        if notify:
            emit_many(
                [
                    (
                        "license.issued",
                        {
                            "recipients": sorted(set(recipients)),
                            "number": application_number,
                            "license_name": license_type.name,
                            "link": f"/licenses/{row.identifier}/",
                        },
                        f"license.issued:{row.identifier}",
                    )
                ]
            )
        audit_record(
            actor=actor,
            action="license.issue",
            object_type="license.license",
            object_id=row.identifier,
            object_repr=license_type.name,
            detail={
                "application": application_number,
                "digest": row.digest,
                "key": key.key_id,
                "pdf_sm3": row.pdf_sm3,
            },
        )


def type_for_service(service_key: str) -> LicenseType | None:
    """The license type that approving ``service_key`` issues (办理结果), if any."""
    for license_type in LicenseType.objects.filter(is_active=True).select_related("department"):
        if service_key in (license_type.service_keys or []):
            return license_type
    return None


def license_issue_for_application(*, number: str) -> License | None:
    """The automatic issue when an application is approved (idempotent per application)."""
    from onewindow.casework import selectors as casework_selectors
    from onewindow.identity import selectors as identity_selectors

    found = casework_selectors.approved_for_issue(number=number)
    if found is None:
        return None
    license_type = type_for_service(found.service_key)
    if license_type is None:
        return None
    if license_type.issue_if and not compile_expression(license_type.issue_if).evaluate(
        found.answers
    ):
        return None  # e.g. a newborn's card: the holder is not the applicant
    existing = License.objects.filter(
        application_number=found.number, license_type=license_type
    ).first()
    if existing is not None:
        return existing
    if license_type.holder_kind == HolderKind.ORGANISATION:
        enterprise = found.enterprise
        if enterprise is None:
            return None
        holder_name, holder_code = enterprise.name, enterprise.uscc
        owners: dict[str, Any] = {"holder_enterprise": enterprise}
    else:
        identity = identity_selectors.citizen_identity(
            user=found.applicant, purpose=f"license.issue {found.number}", actor="system"
        )
        if identity is None:
            return None
        holder_name, holder_code = identity
        owners = {"holder_user": found.applicant}
    previous = (
        License.objects.filter(license_type=license_type, status=Status.VALID, **owners)
        .order_by("-issued_on", "-id")
        .first()
        if license_type.replaces_previous
        else None
    )
    data = _printed(license_type.template, found.answers, previous)
    if license_type.holder_kind == HolderKind.ORGANISATION and data and data[0][0] == "名称":
        holder_name = data[0][1] or holder_name  # a change of name (名称变更)
    try:
        issued = license_issue(
            license_type=license_type,
            holder_name=holder_name,
            holder_code=holder_code,
            data=data,
            application_number=found.number,
            # A part of a bundle (一件事): the bundle tells the holder once, with every result.
            notify=not found.part_of,
            **owners,
        )
    except IntegrityError:  # issued by a concurrent delivery of the same event?
        raced = License.objects.filter(
            application_number=found.number, license_type=license_type
        ).first()
        if raced is None:
            raise  # something else: the delivery fails and is retried
        return raced
    if previous is not None:
        _replaced(previous, issued)
    return issued


def _printed(
    template: list[dict[str, Any]], answers: dict[str, Any], previous: License | None
) -> list[tuple[str, str]]:
    """The printed rows: each label's first answered form field (``answer`` names one field or
    a list tried in order), else the holder's previous license's value (a change of
    registration re-issues the license with only the changed rows new)."""
    before = {str(label): str(value) for label, value in (previous.data if previous else [])}
    rows = []
    for entry in template:
        names = entry["answer"] if isinstance(entry["answer"], list) else [entry["answer"]]
        text = next(
            (_answer_text(answers[n]) for n in names if answers.get(n) not in (None, "", [])),
            "",
        )
        rows.append((str(entry["label"]), text or before.get(str(entry["label"]), "")))
    return rows


def _replaced(previous: License, issued: License) -> None:
    """换发: the holder's earlier license of the type is cancelled, naming its successor."""
    reason = f"已换发新证 {issued.identifier}"
    now = timezone.now()
    with transaction.atomic():
        StatusChange.objects.create(
            license=previous,
            status_from=previous.status,
            status_to=Status.CANCELLED,
            reason=reason,
            actor="system",
            occurred_at=now,
        )
        License.objects.filter(pk=previous.pk).update(
            status=Status.CANCELLED, status_reason=reason, status_changed_at=now
        )
        audit_record(
            actor="system",
            action="license.replace",
            object_type="license.license",
            object_id=previous.identifier,
            object_repr=previous.license_type.name,
            detail={"successor": issued.identifier},
        )


def _answer_text(value: Any) -> str:
    """An answer as printed: an address as region name + street, a list joined."""
    if isinstance(value, dict):
        from onewindow.org.selectors import region_full_name

        region = str(value.get("region", ""))
        return f"{region_full_name(region) if region else ''}{value.get('detail', '')}"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return "" if value is None else str(value)


# --- status --------------------------------------------------------------------------------

# action -> (statuses it applies to, new status)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "suspend": ((Status.VALID,), Status.SUSPENDED),
    "restore": ((Status.SUSPENDED,), Status.VALID),
    "revoke": ((Status.VALID, Status.SUSPENDED), Status.REVOKED),
    "cancel": ((Status.VALID, Status.SUSPENDED), Status.CANCELLED),
}
ISSUER_ROLES = {Role.APPROVER.value, Role.DEPARTMENT_HEAD.value}


def license_status_change(
    *, subject: Subject, identifier: str, action: str, reason: str
) -> License:
    """暂扣 / 恢复 / 撤销 / 注销 by the issuing department's approver or head, with a reason
    that the holder and every verifier see at once."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error(errors.LICENSE_REASON_REQUIRED, "reason")
    if action not in TRANSITIONS:
        raise field_error(errors.LICENSE_STATUS_CHANGE, "action")
    with transaction.atomic():
        row = (
            License.objects.select_for_update(of=("self",))
            .select_related("license_type")
            .filter(identifier=identifier)
            .first()
        )
        if row is None:
            raise ApiError(errors.LICENSE_NOT_FOUND)
        if (
            subject.kind != STAFF
            or subject.department_id != row.issuer_id
            or not (subject.roles & ISSUER_ROLES)
        ):
            raise ApiError(errors.LICENSE_NOT_ISSUER)
        allowed, new_status = TRANSITIONS[action]
        before = row.status
        if before not in allowed:
            raise field_error(errors.LICENSE_STATUS_CHANGE, "action")
        now = timezone.now()
        StatusChange.objects.create(
            license=row,
            status_from=before,
            status_to=new_status,
            reason=reason[:500],
            actor=subject.label,
            occurred_at=now,
        )
        row.status, row.status_reason, row.status_changed_at = new_status, reason[:500], now
        row.save(update_fields=["status", "status_reason", "status_changed_at"])
        recipients = [row.holder_user_id] if row.holder_user_id else []
        if row.holder_enterprise_id:
            recipients += list(
                Enterprise.objects.filter(pk=row.holder_enterprise_id).values_list(
                    "legal_representative_id", flat=True
                )
            )
        emit_many(
            [
                (
                    "license.status_changed",
                    {
                        "recipients": sorted(set(recipients)),
                        "license_name": row.license_type.name,
                        "status": new_status,
                        "reason": reason[:500],
                        "link": f"/licenses/{row.identifier}/",
                    },
                    f"license.status_changed:{row.identifier}:{now.isoformat()}",
                )
            ]
        )
        audit_record(
            actor=subject.label,
            action=f"license.{action}",
            object_type="license.license",
            object_id=row.identifier,
            object_repr=row.license_type.name,
            detail={"reason": reason[:500], "from": before, "to": new_status},
        )
    return row


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """What a verifier is told. ``reason`` is empty when valid, else a machine word:
    ``malformed`` / ``check_character`` (a forged or mistyped identifier), ``not_found``,
    ``suspended`` / ``revoked`` / ``cancelled`` / ``expired`` (the status), ``signature``
    (the stored data no longer matches its SM2 signature), or for an uploaded PDF
    ``pdf_unreadable`` / ``pdf_no_signature`` / ``pdf_modified`` / ``pdf_untrusted`` /
    ``pdf_invalid`` / ``pdf_not_this_license``."""

    identifier: str
    valid: bool
    reason: str
    license: License | None = None
    status: str = ""
    signature_ok: bool = False


def effective_status(row: License, day: dt.date | None = None) -> str:
    day = day or timezone.localdate()
    if row.status == Status.VALID and row.valid_until is not None and row.valid_until < day:
        return Status.EXPIRED
    return row.status


def signature_ok(row: License) -> bool:
    """The stored data still matches its digest and the issuer's SM2 signature."""
    holder_code = crypto.decrypt(row.holder_code_encrypted, HOLDER_PURPOSE)
    payload = signed_bytes(row, holder_code)
    return sm3_hex(payload) == row.digest and keys.sm2_verify(
        row.signing_key, payload, row.signature
    )


def _find(identifier: str) -> tuple[License | None, str]:
    try:
        identifier = parse_license_identifier(identifier).text  # retyped: spaces, lower case
    except LicenseIdError as exc:
        return None, "check_character" if exc.reason == "check" else "malformed"
    try:
        # What verification reads, nothing more: the signing key's encrypted private halves
        # and certificate stay in the database (the PDF check loads the certificate itself).
        row = (
            License.objects.select_related("license_type", "issuer", "signing_key")
            .defer(
                "signing_key__sm2_private_encrypted",
                "signing_key__pdf_key_encrypted",
                "signing_key__pdf_certificate",
                "license_type__template",
                "license_type__service_keys",
            )
            .get(identifier=identifier)
        )
    except License.DoesNotExist:
        return None, "not_found"
    return row, ""


def masked_holder(row: License) -> str:
    """The holder as a verifier sees it: a person's name and ID number masked."""
    if row.holder_kind == HolderKind.PERSON:
        return f"{mask_name(row.holder_name)} {row.holder_code_masked}"
    return f"{row.holder_name} {row.holder_code_masked}"


def _log(result: VerifyResult, channel: str, ip: str | None, request_id: str) -> VerifyResult:
    ctx = context.current()
    ip, request_id = ip or ctx.ip, request_id or ctx.request_id
    Verification.objects.create(
        identifier=result.identifier[:128],
        license=result.license,
        channel=channel,
        valid=result.valid,
        reason=result.reason,
        ip=ip or None,
        request_id=request_id[:64],
    )
    return result


def verification_allowed() -> None:
    """Public verification is limited per client IP and minute (identifiers are serial, so
    this bounds how fast anyone can walk the register); ``RATE_LIMITED`` past it."""
    from onewindow.identity.access import rate_limit

    ip = context.current().ip or "unknown"
    if ":" in ip:  # IPv6: one bucket per /64, the block one client usually holds
        with contextlib.suppress(ValueError):
            ip = str(ipaddress.IPv6Network(f"{ip}/64", strict=False).network_address) + "/64"
    rate_limit(f"verify:{ip}", settings.ONEWINDOW_VERIFY_RATE_PER_MINUTE)


def license_verify(
    *, identifier: str, channel: str = Channel.API, ip: str | None = None, request_id: str = ""
) -> VerifyResult:
    """Is this license valid now? Logged, whatever the answer."""
    row, problem = _find(identifier)
    if row is None:
        return _log(VerifyResult(identifier, False, problem), channel, ip, request_id)
    status = effective_status(row)
    signed = signature_ok(row)
    reason = "" if status == Status.VALID else str(status)
    if not reason and not signed:
        reason = "signature"
    result = VerifyResult(identifier, not reason, reason, row, status, signed)
    return _log(result, channel, ip, request_id)


def license_verify_pdf(
    *, identifier: str, document: bytes, ip: str | None = None, request_id: str = ""
) -> VerifyResult:
    """Is this PDF the license the department issued, unchanged, and is it valid now?"""
    row, problem = _find(identifier)
    if row is None:
        return _log(VerifyResult(identifier, False, problem), Channel.PDF, ip, request_id)
    # The key that signed this license (kept after a rotation) is the only trusted one.
    check = pdf.check(document, trust_cert_pems=[row.signing_key.pdf_certificate.encode()])
    status = effective_status(row)
    signed = signature_ok(row)
    if not check.ok:
        reason = f"pdf_{check.reason}"
    elif sm3_hex(document) != row.pdf_sm3:
        reason = "pdf_not_this_license"
    elif status != Status.VALID:
        reason = str(status)
    elif not signed:
        reason = "signature"
    else:
        reason = ""
    result = VerifyResult(identifier, not reason, reason, row, status, signed)
    return _log(result, Channel.PDF, ip, request_id)


def reason_text(reason: str) -> str:
    """A verifier's explanation of ``reason`` in plain words."""
    texts = {
        "": _("This e-license is valid."),
        "malformed": _("This is not an e-license identifier: its format is wrong."),
        "check_character": _(
            "The identifier's check character does not match: it was mistyped or forged."
        ),
        "not_found": _("No e-license with this identifier was issued on this platform."),
        "suspended": _("This e-license is suspended (暂扣) by the issuing department."),
        "revoked": _("This e-license was revoked (撤销) by the issuing department."),
        "cancelled": _("This e-license was cancelled (注销)."),
        "expired": _("This e-license has expired (失效)."),
        "signature": _(
            "The license data no longer matches the issuing department's signature: "
            "do not rely on it."
        ),
        "pdf_unreadable": _("The file is not a readable PDF."),
        "pdf_no_signature": _("The PDF carries no signature."),
        "pdf_modified": _("The PDF was changed after it was signed."),
        "pdf_untrusted": _("The PDF was not signed by the issuing department's key."),
        "pdf_invalid": _("The PDF's signature is not valid."),
        "pdf_not_this_license": _(
            "The PDF is signed but is not the copy issued for this identifier."
        ),
    }
    return str(texts.get(reason, _("This e-license cannot be verified.")))
