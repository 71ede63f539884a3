"""Per-request identity policy for pages: expired staff passwords, and who an agent acts for."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from onewindow.identity.access import ACTING_FOR_SESSION_KEY
from onewindow.identity.passwords import password_expired
from onewindow.identity.selectors import enterprise_acting_check
from onewindow.kit import context

ALLOWED_PREFIXES = (
    "/accounts/password/change/",
    "/accounts/logout/",
    "/static/",
    "/healthz",
    "/readyz",
    "/i18n/",
    "/api/",
)


class AccessPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        request.acting_for = None  # type: ignore[attr-defined]  # read by access and templates
        if user is not None and session is not None and ACTING_FOR_SESSION_KEY in session:
            # Every audited act of this request names the enterprise (经办人 + 企业), as long as
            # the grant still stands; a revoked or expired grant ends acting-for at once.
            enterprise = (
                enterprise_acting_check(user=user, uscc=session[ACTING_FOR_SESSION_KEY])
                if user.is_authenticated
                else None
            )
            if enterprise is None:
                session.pop(ACTING_FOR_SESSION_KEY, None)
            else:
                context.set_on_behalf_of(enterprise.uscc)
                request.acting_for = enterprise  # type: ignore[attr-defined]
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(ALLOWED_PREFIXES)
            and password_expired(user)
        ):
            return HttpResponseRedirect(reverse("account_change_password") + "?expired=1")
        return self.get_response(request)
