"""django-axes hooks: which username and IP a failure counts against, and the locked answer.

The locked answer is the same whether or not the account exists: axes counts failures for any
login name tried, so "locked" reveals nothing about who has an account.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from onewindow.kit import context, validators

LOGIN_FIELDS = ("login", "username")


def canonical_login_name(name: str) -> str:
    """One spelling per login name, so failures under ``ZhangSan`` or ``+86 138-0000-0001``
    count against the same name as ``zhangsan`` or ``13800000001`` (logins accept all).

    ID numbers and mobiles become their keyed look-up hash (``id:…``, ``phone:…``): the lockout
    tables and the audit trail must not hold them in clear, even when someone mistyped them.
    """
    from onewindow.identity import crypto

    name = name.strip()
    if len(name) == 18 and validators.validate_id_number(name, extra_provinces={name[:2]}).rule in (
        None,
        "check_digit",
        "birth_date",
    ):
        return "id:" + crypto.lookup_hash(name.upper(), crypto.ID_NUMBER)[:32]
    try:
        phone = validators.normalize_mobile(name)
    except ValueError:
        return name.lower()  # usernames log in case-insensitively (allauth's backend)
    return "phone:" + crypto.lookup_hash(phone, crypto.PHONE)[:32]


def username_from_request(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The login name, normalised the way ``IdentifierBackend`` resolves it."""
    name = ""
    if credentials:
        name = str(credentials.get("username") or credentials.get("login") or "")
    if not name and request is not None:
        for field in LOGIN_FIELDS:
            name = name or str(request.POST.get(field, ""))
        if not name and request.content_type == "application/json":
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
            if isinstance(body, dict):
                name = str(body.get("username", ""))
    return canonical_login_name(name)


def client_ip(request: HttpRequest) -> str:
    return context.current().ip or request.META.get("REMOTE_ADDR", "")


def lockout_response(
    request: HttpRequest, credentials: Any = None, *args: Any, **kw: Any
) -> HttpResponse:
    from onewindow.api.errors import error_response, is_api_request
    from onewindow.identity.errors import ACCOUNT_LOCKED

    if is_api_request(request):
        return error_response(ACCOUNT_LOCKED)
    return render(
        request, "identity/locked.html", {"error": ACCOUNT_LOCKED}, status=ACCOUNT_LOCKED.status
    )


def reset_login_name_failures(name: str) -> None:
    """After a successful login: forget that login name's failures (not the IP address's)."""
    from axes.models import AccessAttempt

    if name:
        AccessAttempt.objects.filter(username=name).delete()
