"""Account pages: my account and security, and the enterprise switcher for agents."""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from onewindow.audit.services import audit_record
from onewindow.identity import selectors
from onewindow.identity.access import ACTING_FOR_SESSION_KEY, CITIZEN, STAFF, page_access
from onewindow.identity.models import Role


@page_access(CITIZEN, STAFF)
def security(request: HttpRequest) -> HttpResponse:
    subject = request.subject  # type: ignore[attr-defined]
    profile = selectors.profile_masked(subject=subject, user=request.user, purpose="self-service")  # type: ignore[arg-type]
    return render(
        request,
        "identity/security.html",
        {
            "profile": profile,
            "roles": [Role(r).label for r in sorted(subject.roles)],
            "mfa_enabled": is_mfa_enabled(request.user),
            "history": selectors.login_history(user=request.user),  # type: ignore[arg-type]
        },
    )


@page_access(CITIZEN)
def enterprises(request: HttpRequest) -> HttpResponse:
    """The enterprise switcher: act as oneself or for an enterprise one represents."""
    user = request.user
    if request.method == "POST":
        uscc = request.POST.get("uscc", "").strip().upper()
        if not uscc:
            request.session.pop(ACTING_FOR_SESSION_KEY, None)
            messages.success(request, _("You are acting for yourself."))
            return HttpResponseRedirect(request.path)
        enterprise = selectors.enterprise_acting_check(user=user, uscc=uscc)  # type: ignore[arg-type]
        if enterprise is None:
            raise PermissionDenied(_("You do not act for this enterprise."))
        request.session[ACTING_FOR_SESSION_KEY] = enterprise.uscc
        audit_record(
            actor=user.get_username(),
            action="identity.act_for",
            object_type="identity.enterprise",
            object_id=enterprise.pk,
            object_repr=enterprise.name,
            detail={"on_behalf_of": enterprise.uscc},
        )
        messages.success(request, _("You are now acting for %(name)s.") % {"name": enterprise.name})
        return HttpResponseRedirect(request.path)
    return render(
        request,
        "identity/enterprises.html",
        {
            "enterprises": selectors.enterprises_for(user=user),  # type: ignore[arg-type]
            "acting_for": request.subject.acting_for,  # type: ignore[attr-defined]
        },
    )
