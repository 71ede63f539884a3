"""The e-license API: the holder's wallet, the PDF, public verification (identifier or
uploaded PDF) and the issuing department's status changes."""

from __future__ import annotations

import datetime as dt

from django.http import FileResponse, HttpRequest
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from onewindow.identity.access import CITIZEN, STAFF, Subject, api_access, public_operation
from onewindow.identity.models import Role
from onewindow.license import errors, selectors, services
from onewindow.license.models import Channel, License

router = Router(tags=["licenses"])
MAX_PDF_BYTES = 5 * 1024 * 1024


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by the auth classes
    return subject


class LicenseOut(Schema):
    identifier: str
    type_code: str
    type_name: str
    holder_name: str
    holder_code: str  # masked for a person
    issuer: str
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date | None
    status: str
    status_reason: str
    application_number: str
    pdf_url: str
    verify_url: str


class VerifyOut(Schema):
    identifier: str
    valid: bool
    status: str
    reason: str
    message: str
    type_name: str
    holder: str  # masked name and code
    issuer: str
    issued_on: dt.date | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    signature_ok: bool


class StatusIn(Schema):
    action: str  # suspend | restore | revoke | cancel
    reason: str


def license_out(row: License) -> LicenseOut:
    return LicenseOut(
        identifier=row.identifier,
        type_code=row.license_type.code,
        type_name=row.license_type.name,
        holder_name=row.holder_name,
        holder_code=row.holder_code_masked,
        issuer=row.issuer.name,
        issued_on=row.issued_on,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        status=services.effective_status(row),
        status_reason=row.status_reason,
        application_number=row.application_number,
        pdf_url=f"/api/v1/licenses/{row.identifier}/pdf",
        verify_url=services.verify_url(row.identifier),
    )


def verify_out(result: services.VerifyResult) -> VerifyOut:
    row = result.license
    return VerifyOut(
        identifier=result.identifier,
        valid=result.valid,
        status=result.status,
        reason=result.reason,
        message=services.reason_text(result.reason),
        type_name=row.license_type.name if row else "",
        holder=services.masked_holder(row) if row else "",
        issuer=row.issuer.name if row else "",
        issued_on=row.issued_on if row else None,
        valid_from=row.valid_from if row else None,
        valid_until=row.valid_until if row else None,
        signature_ok=result.signature_ok,
    )


@router.get(
    "/licenses",
    response=list[LicenseOut],
    auth=api_access(CITIZEN),
    summary="My e-licenses (卡包)",
)
def licenses(request: HttpRequest) -> list[LicenseOut]:
    """The holder's licenses, newest first; an agent acting for an enterprise
    (``X-Acting-For``) sees the enterprise's."""
    return [license_out(row) for row in selectors.licenses_mine(subject=_subject(request))]


@router.get(
    "/licenses/{identifier}",
    response=LicenseOut,
    auth=api_access(CITIZEN, STAFF),
    summary="One e-license (its holder or the issuing department)",
)
def license_detail(request: HttpRequest, identifier: str) -> LicenseOut:
    return license_out(selectors.license_visible(subject=_subject(request), identifier=identifier))


@router.get(
    "/licenses/{identifier}/pdf",
    auth=api_access(CITIZEN, STAFF),
    summary="The signed PDF of an e-license",
    response={200: None},
)
def license_pdf(request: HttpRequest, identifier: str) -> FileResponse:
    row = selectors.license_visible(subject=_subject(request), identifier=identifier)
    return selectors.pdf_response(row)


@router.get(
    "/licenses/{identifier}/verify",
    response=VerifyOut,
    summary="Verify an e-license (anyone; every verification is logged)",
)
@public_operation
def license_verify(request: HttpRequest, identifier: str) -> VerifyOut:
    """``valid`` is true only for an existing, unexpired license in status 有效 whose stored
    data still matches the issuing department's SM2 signature; ``reason`` and ``message``
    say why not (a forged identifier fails on its check character). Limited per client IP
    (``ONEWINDOW_VERIFY_RATE_PER_MINUTE``, 429 ``RATE_LIMITED``)."""
    services.verification_allowed()
    return verify_out(services.license_verify(identifier=identifier, channel=Channel.API))


@router.post(
    "/licenses/{identifier}/verify-pdf",
    response=VerifyOut,
    summary="Verify an e-license PDF someone handed you (anyone; logged)",
)
@public_operation
def license_verify_pdf(
    request: HttpRequest, identifier: str, file: File[UploadedFile]
) -> VerifyOut:
    """The PDF's signature is checked against the issuing department's certificate and the
    file against the copy issued; one changed byte fails with ``pdf_modified``."""
    services.verification_allowed()
    if file.size is None or file.size > MAX_PDF_BYTES:
        raise services.field_error(errors.LICENSE_PDF_INVALID, "file")
    document = file.read(MAX_PDF_BYTES + 1)
    return verify_out(services.license_verify_pdf(identifier=identifier, document=document))


@router.post(
    "/licenses/{identifier}/status",
    response=LicenseOut,
    auth=api_access(STAFF, roles=[Role.APPROVER, Role.DEPARTMENT_HEAD]),
    summary="Suspend, restore, revoke or cancel an e-license (issuing department)",
)
def license_status(request: HttpRequest, identifier: str, body: StatusIn) -> LicenseOut:
    """``action``: ``suspend`` (暂扣), ``restore`` (恢复), ``revoke`` (撤销) or ``cancel``
    (注销), with the ``reason`` the holder and every verifier see at once."""
    row = services.license_status_change(
        subject=_subject(request), identifier=identifier, action=body.action, reason=body.reason
    )
    return license_out(row)
