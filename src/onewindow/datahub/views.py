"""My consents and who accessed my data (citizens), the data quality report (data stewards):
server-rendered pages, no JavaScript."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onewindow.datahub import quality, selectors, services
from onewindow.datahub.keys import data_subject_of, may_consent_for
from onewindow.datahub.models import Dataset
from onewindow.identity.access import CITIZEN, STAFF, Subject, page_access
from onewindow.identity.models import Role
from onewindow.kit.errors import ApiError

MAX_ID = 2**63 - 1


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by page_access
    return subject


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


@page_access(CITIZEN)
@require_http_methods(["GET", "POST"])
def consents(request: HttpRequest) -> HttpResponse:
    subject = _subject(request)
    problems: list[dict[str, str]] = []
    form = {"dataset": "", "department": "", "purpose": "", "expires_on": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip()[:200] for k in form}
        try:
            expires_on = dt.date.fromisoformat(form["expires_on"]) if form["expires_on"] else None
        except ValueError:
            expires_on = None
            problems.append({"field": "expires_on", "message": _("Enter a date as YYYY-MM-DD.")})
        if not problems:
            try:
                services.consent_grant(
                    subject=subject,
                    dataset_key=form["dataset"],
                    department_code=form["department"],
                    purpose=form["purpose"],
                    expires_on=expires_on,
                )
            except ApiError as exc:
                problems = [d.as_dict() for d in exc.details] or [
                    {"field": "", "message": str(exc.message or exc.error.message)}
                ]
            else:
                messages.success(request, _("Your consent is recorded."))
                return HttpResponseRedirect(reverse("datahub:consents"))
    datasets, departments = selectors.consent_choices(subject=subject)
    return render(
        request,
        "datahub/consents.html",
        {
            "consents": selectors.consents_mine(subject=subject),
            "has_data_subject": data_subject_of(subject) is not None,
            "may_consent": may_consent_for(subject),
            "datasets": datasets,
            "departments": departments,
            "form": form,
            "problems": problems,
        },
        status=422 if problems else 200,
    )


@page_access(CITIZEN)
@require_POST
def consent_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if pk > MAX_ID:
        raise Http404
    try:
        services.consent_revoke(subject=_subject(request), consent_id=pk)
    except ApiError as exc:
        if exc.error.status == 404:
            raise Http404 from None
        messages.error(request, str(exc.message or exc.error.message))
    else:
        messages.success(
            request, _("The consent is revoked. The department can no longer read this data.")
        )
    return HttpResponseRedirect(reverse("datahub:consents"))


@page_access(CITIZEN)
@require_http_methods(["GET"])
def access_log(request: HttpRequest) -> HttpResponse:
    subject = _subject(request)
    result = selectors.access_log_mine(subject=subject, page=_page_number(request))
    return render(
        request,
        "datahub/access_log.html",
        {"result": result, "has_data_subject": data_subject_of(subject) is not None},
    )


@page_access(STAFF, roles=[Role.DATA_STEWARD.value])
@require_http_methods(["GET"])
def quality_report(request: HttpRequest) -> HttpResponse:
    """数据质量报告: counts and masked examples per dataset, and the latest import batches."""
    key = request.GET.get("dataset", "").strip()[:64] or None
    try:
        report = quality.quality_report(dataset_key=key)
    except Dataset.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "datahub/quality.html",
        {
            "report": report,
            "datasets": selectors.dataset_list(),
            "selected": key or "",
            "batches": selectors.import_batches_recent(),
        },
    )
