"""The admin console: the three admin roles (三员) and department catalog editors, only after a
TOTP login (等保 2.0 MFA)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onewindow.identity.models import CONSOLE_ROLES


def _has_admin_role(user: Any) -> bool:
    return user.roles.filter(role__in=[r.value for r in CONSOLE_ROLES]).exists()


class OneWindowAdminSite(admin.AdminSite):
    site_header = gettext_lazy("OneWindow administration")
    site_title = gettext_lazy("OneWindow administration")
    index_title = gettext_lazy("Administration")

    def has_permission(self, request: HttpRequest) -> bool:
        from onewindow.identity.access import session_mfa_verified

        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and _has_admin_role(user)
            and session_mfa_verified(request)
        )

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """No separate admin login: the platform login (with TOTP) is the only way in."""
        from allauth.mfa.utils import is_mfa_enabled

        user = request.user
        next_url = request.GET.get("next") or "/admin/"
        if not user.is_authenticated:
            return redirect_to_login(next_url)
        if not (user.is_staff and _has_admin_role(user)):
            raise PermissionDenied(_("The admin console is for administrators only."))
        enrolled = is_mfa_enabled(user, types=["totp"])
        return render(
            request,
            "identity/admin_mfa_required.html",
            {"enrolled": enrolled, "next": next_url},
            status=403,
        )
