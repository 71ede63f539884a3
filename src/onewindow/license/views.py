"""E-license pages: public verification (扫码验证), the holder's wallet (卡包) and a license's
page, the issuing department's register with suspension and revocation. No JavaScript."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onewindow.identity.access import CITIZEN, STAFF, Subject, page_access, public_page
from onewindow.identity.models import Role
from onewindow.kit.errors import ApiError
from onewindow.license import selectors, services
from onewindow.license.api import MAX_PDF_BYTES
from onewindow.license.models import Channel, License, Status


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by page_access
    return subject


def _visible(request: HttpRequest, identifier: str) -> License:
    try:
        return selectors.license_visible(subject=_subject(request), identifier=identifier)
    except ApiError:
        raise Http404 from None


@public_page
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, identifier: str) -> HttpResponse:
    """What the QR code opens: is this license valid now? A PDF can be checked too."""
    try:
        services.verification_allowed()
    except ApiError as exc:
        return render(
            request,
            "license/verify_limited.html",
            {"message": str(exc.error.message)},
            status=exc.error.status,
        )
    problem = ""
    checked_pdf = False
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or upload.size is None or upload.size > MAX_PDF_BYTES:
            problem = _("Choose the license PDF file (at most 5 MB).")
            result = services.license_verify(identifier=identifier, channel=Channel.PAGE)
        else:
            checked_pdf = True
            result = services.license_verify_pdf(
                identifier=identifier, document=upload.read(MAX_PDF_BYTES + 1)
            )
    else:
        result = services.license_verify(identifier=identifier, channel=Channel.PAGE)
    row = result.license
    return render(
        request,
        "license/verify.html",
        {
            "result": result,
            "license": row,
            "message": services.reason_text(result.reason),
            "holder": services.masked_holder(row) if row else "",
            "status_label": Status(result.status).label if result.status else "",
            "checked_pdf": checked_pdf,
            "problem": problem,
        },
        status=422 if problem else 200,
    )


@page_access(CITIZEN)
def wallet(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.licenses_mine(subject=_subject(request)))
    for row in rows:
        row.effective = services.effective_status(row)  # type: ignore[attr-defined]
        row.effective_label = Status(row.effective).label  # type: ignore[attr-defined]
    return render(request, "license/wallet.html", {"licenses": rows})


@page_access(CITIZEN, STAFF)
def detail(request: HttpRequest, identifier: str) -> HttpResponse:
    subject = _subject(request)
    row = _visible(request, identifier)
    issuer_staff = (
        subject.kind == STAFF
        and subject.department_id == row.issuer_id
        and bool(subject.roles & services.ISSUER_ROLES)
    )
    status = services.effective_status(row)
    actions = [
        (name, label)
        for name, label in (
            ("suspend", _("Suspend (暂扣)")),
            ("restore", _("Restore (恢复)")),
            ("revoke", _("Revoke (撤销)")),
            ("cancel", _("Cancel (注销)")),
        )
        if row.status in services.TRANSITIONS[name][0]
    ]
    return render(
        request,
        "license/detail.html",
        {
            "license": row,
            "status": status,
            "status_label": Status(status).label,
            "history": selectors.status_history(license=row),
            "issuer_staff": issuer_staff,
            "actions": actions if issuer_staff else [],
            "verify_url": services.verify_url(row.identifier),
        },
    )


@page_access(CITIZEN, STAFF)
def pdf(request: HttpRequest, identifier: str) -> FileResponse:
    return selectors.pdf_response(_visible(request, identifier))


@page_access(STAFF, roles=[Role.APPROVER, Role.DEPARTMENT_HEAD])
@require_POST
def status_change(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        services.license_status_change(
            subject=_subject(request),
            identifier=identifier,
            action=request.POST.get("action", ""),
            reason=request.POST.get("reason", "")[:500],
        )
    except ApiError as exc:
        messages.error(request, str(exc.message or exc.error.message))
    else:
        messages.success(request, _("The license's status is changed; verification shows it now."))
    return HttpResponseRedirect(reverse("license:detail", args=[identifier]))


@page_access(STAFF)
def issued(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    rows = list(selectors.licenses_issued(subject=_subject(request), query=query)[:100])
    for row in rows:
        row.effective = services.effective_status(row)  # type: ignore[attr-defined]
        row.effective_label = Status(row.effective).label  # type: ignore[attr-defined]
    return render(request, "license/issued.html", {"licenses": rows, "query": query})
