"""Who is asking, and may they? Authorisation is declared on every page and API operation.

* Pages: decorate the view with ``@page_access(...)`` or ``@public_page``.
* API operations: ``auth=api_access(...)`` on the route, or ``@public_operation`` on the view.
* Third-party routes (Django admin, allauth, the OAuth provider) are listed in
  ``THIRD_PARTY_ROUTES`` with the reason they are safe.

``tests/identity/test_url_walk.py`` walks every URL and fails on any route that is neither.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer

from onewindow.identity.models import ADMIN_ROLES, Enterprise, User, UserKind
from onewindow.kit import context
from onewindow.kit.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])

CITIZEN = "citizen"
STAFF = "staff"
MACHINE = "machine"
ANY_PERSON = (CITIZEN, STAFF)


@dataclass
class Subject:
    """The acting subject of a request: a person (citizen or staff) or a machine client."""

    kind: str
    user: User | None = None
    roles: frozenset[str] = frozenset()
    department_id: int | None = None
    region_id: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    mfa: bool = False
    acting_for: Enterprise | None = None
    on_behalf_of_user: str = ""  # X-User-Id from a machine client
    case_number: str = ""  # X-Case-Number
    purpose: str = ""  # X-Purpose
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & {r.value for r in ADMIN_ROLES})

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return f"client:{self.client_id}"


def _person_subject(user: User, *, mfa: bool, scopes: Iterable[str] = ()) -> Subject:
    roles: frozenset[str] = frozenset()
    department_id = region_id = None
    if user.kind == UserKind.STAFF:
        roles = frozenset(user.roles.values_list("role", flat=True))
        staff = getattr(user, "staff", None)
        if staff is not None:
            department_id, region_id = staff.department_id, staff.region_id
    return Subject(
        kind=STAFF if user.kind == UserKind.STAFF else CITIZEN,
        user=user,
        roles=roles,
        department_id=department_id,
        region_id=region_id,
        mfa=mfa,
        scopes=frozenset(scopes),
    )


def session_mfa_verified(request: HttpRequest) -> bool:
    """True when this session's login included a TOTP (or recovery code) step."""
    records = get_authentication_records(request, getattr(request, "user", None))
    return any(r.get("method") == "mfa" for r in records)


def subject_from_session(request: HttpRequest) -> Subject | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    subject = _person_subject(user, mfa=session_mfa_verified(request))
    if subject.kind == CITIZEN:
        subject.acting_for = acting_for(request)
    return subject


def acting_for(request: HttpRequest) -> Enterprise | None:
    """The enterprise the person acts for in this request, checked once per request by
    identity.middleware.AccessPolicyMiddleware (computed here if that did not run)."""
    if hasattr(request, "acting_for"):
        enterprise: Enterprise | None = request.acting_for
        return enterprise
    user = getattr(request, "user", None)
    uscc = request.session.get(ACTING_FOR_SESSION_KEY) if hasattr(request, "session") else None
    if not uscc or user is None or not user.is_authenticated:
        return None
    from onewindow.identity.selectors import enterprise_acting_check

    enterprise = enterprise_acting_check(user=user, uscc=uscc)
    if enterprise is not None:
        context.set_on_behalf_of(enterprise.uscc)
    return enterprise


ACTING_FOR_SESSION_KEY = "identity_acting_for"


# --- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRule:
    public: bool = False
    kinds: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    mfa: bool = False


def public_page(view: F) -> F:
    """Marks a page anyone may open."""
    view.ow_access = AccessRule(public=True)  # type: ignore[attr-defined]
    return view


def page_access(*kinds: str, roles: Iterable[str] = (), mfa: bool = False) -> Callable[[F], F]:
    """Only logged-in subjects of ``kinds`` (and, if given, holding one of ``roles``)."""
    rule = AccessRule(kinds=tuple(kinds) or ANY_PERSON, roles=tuple(roles), mfa=mfa)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            subject = subject_from_session(request)
            if subject is None:
                return redirect_to_login(request.get_full_path())
            _authorise(subject, rule)
            request.subject = subject  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        wrapper.ow_access = rule  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _authorise(subject: Subject, rule: AccessRule) -> None:
    if rule.kinds and subject.kind not in rule.kinds:
        raise PermissionDenied(_("This page is not available to your kind of account."))
    if rule.roles and not (subject.roles & set(rule.roles)):
        raise PermissionDenied(_("Your role does not allow this."))
    if rule.mfa and not subject.mfa:
        from allauth.mfa.utils import is_mfa_enabled

        from onewindow.identity.errors import MFA_ENROLMENT_REQUIRED, MFA_REQUIRED

        enrolled = subject.user is not None and is_mfa_enabled(subject.user, types=["totp"])
        raise ApiError(MFA_REQUIRED if enrolled else MFA_ENROLMENT_REQUIRED)


# --- API ------------------------------------------------------------------------------------


def public_operation(view: F) -> F:
    """Marks an API operation anyone may call (place it under the router decorator)."""
    view.ow_public = True  # type: ignore[attr-defined]
    return view


# A token, once read, is kept in the shared cache for this long (never past its expiry): the
# data-exchange API answers thousands of reads a second with one machine token, and a person's
# app calls the API with one token for a whole visit. A revoked or deleted token, a changed
# client policy, and a change to the person (account, roles, staff post) drop the entry at once
# (receivers.py, ``forget_person_tokens``). ADR 0014 (machine tokens), ADR 0015 (persons).
TOKEN_CACHE_SECONDS = 30


def token_cache_key(checksum: str) -> str:
    return f"identity:token:{checksum}"


def _machine_subject(cached: dict[str, Any]) -> Subject:
    return Subject(
        kind=MACHINE,
        scopes=frozenset(cached["scopes"]),
        client_id=cached["client_id"],
        extra={
            "client_department_id": cached["department_id"],
            "client_rate_limit": cached["rate_limit"],
        },
    )


def _cached_person_subject(cached: dict[str, Any], checksum: str) -> Subject:
    user: User = cached["user"]
    return Subject(
        kind=STAFF if user.kind == UserKind.STAFF else CITIZEN,
        user=user,
        roles=frozenset(cached["roles"]),
        department_id=cached["department_id"],
        region_id=cached["region_id"],
        mfa="mfa" in cached["scopes"],
        scopes=frozenset(cached["scopes"]),
        client_id=cached["client_id"],
        extra={"token_checksum": checksum},
    )


def _cacheable_user(user: User) -> User:
    """A copy of ``user`` to keep in the shared cache: without the password hash (left
    deferred: read from the database if ever needed, and never written back by a save) and
    with its staff post, if loaded, detached from the original."""
    import copy

    kept = copy.copy(user)
    kept.__dict__.pop("password", None)
    staff = kept._state.fields_cache.get("staff")
    if staff is not None:
        staff = copy.copy(staff)
        staff._state.fields_cache.pop("user", None)
        kept._state.fields_cache["staff"] = staff
    return kept


def access_token_subject(raw_token: str) -> Subject | None:
    from oauth2_provider.models import AccessToken

    checksum = hashlib.sha256(raw_token.encode()).hexdigest()
    cached = cache.get(token_cache_key(checksum))
    if cached is not None and cached["expires"] > time.time():
        if cached["kind"] == MACHINE:
            return _machine_subject(cached)
        return _cached_person_subject(cached, checksum)
    token = (
        # user__staff too: a staff member's department comes with the token (one query less).
        AccessToken.objects.select_related(
            "user", "user__staff", "application", "application__policy"
        )
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.is_expired():
        return None
    from onewindow.identity.models import ClientKind
    from onewindow.identity.services import FIRST_PARTY_CLIENT_ID

    scopes = frozenset(token.scope.split())
    application = token.application
    policy = getattr(application, "policy", None) if application else None
    entry: dict[str, Any]
    if token.user is not None:
        # A person's token is valid here only when our own apps obtained it. A relying party's
        # SSO token serves its userinfo call and nothing else: accepting it would let any
        # partner site (or a thief of its tokens) act as the citizen on this API.
        if application is None or application.client_id != FIRST_PARTY_CLIENT_ID:
            return None
        if not token.user.is_active:
            return None
        subject = _person_subject(token.user, mfa="mfa" in scopes, scopes=scopes)
        entry = {
            "kind": subject.kind,
            "user": _cacheable_user(token.user),
            "roles": sorted(subject.roles),
            "department_id": subject.department_id,
            "region_id": subject.region_id,
            "scopes": sorted(scopes),
            "client_id": application.client_id,
        }
        result = _cached_person_subject(entry, checksum)
        result.user = token.user
    else:
        if application is None or policy is None or policy.kind != ClientKind.MACHINE:
            return None
        entry = {
            "kind": MACHINE,
            "scopes": sorted(scopes),
            "client_id": application.client_id,
            "department_id": policy.department_id,
            "rate_limit": policy.rate_limit_per_minute,
        }
        result = _machine_subject(entry)
    entry["expires"] = token.expires.timestamp()
    ttl = min(TOKEN_CACHE_SECONDS, int(entry["expires"] - time.time()))
    if ttl > 0:
        cache.set(token_cache_key(checksum), entry, timeout=ttl)
    return result


def forget_tokens(checksums: Iterable[str]) -> None:
    """Drop these tokens from the shared cache: the next request reads them again."""
    keys = [token_cache_key(c) for c in checksums if c]
    if keys:
        cache.delete_many(keys)


def forget_person_tokens(user_id: int) -> None:
    """Drop every cached token of this person (their account, roles or post changed)."""
    from oauth2_provider.models import AccessToken

    tokens = AccessToken.objects.filter(user_id=user_id)
    forget_tokens(tokens.values_list("token_checksum", flat=True))


def header_text(request: HttpRequest, name: str, limit: int) -> str:
    """A free-text header such as X-Purpose. Chinese text arrives either percent-encoded
    (recommended: ``X-Purpose: %E5%8A%9E%E4%BB%B6``) or as raw UTF-8, which WSGI hands over
    decoded as Latin-1; both come out as the text that was meant."""
    from urllib.parse import unquote

    raw = request.headers.get(name, "")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        raw = raw.encode("latin-1").decode("utf-8")
    return (unquote(raw, errors="replace") if "%" in raw else raw)[:limit]


def rate_limit(bucket: str, limit: int) -> None:
    """Fixed one-minute window per ``bucket`` in the shared cache (Redis when configured);
    ``RATE_LIMITED`` (429) past ``limit`` requests. A limit of 0 or less means none."""
    from onewindow.kit.errors import RATE_LIMITED

    if limit <= 0:
        return
    window = int(time.time() // 60)
    if _count(f"ratelimit:{bucket}:{window}", timeout=120) > limit:
        raise ApiError(RATE_LIMITED)


def _count(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires ``timeout`` seconds after it was started: on Redis
    one round trip (INCR and EXPIRE NX in a pipeline), elsewhere add + incr."""
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):  # django-redis
        full_key = cache.make_key(key)
        pipe = client.get_client(write=True).pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, timeout, nx=True)
        count, _started = pipe.execute()
        return int(count)
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def machine_rate_limit(subject: Subject, policy_limit: int) -> None:
    """Fixed one-minute window per client."""
    rate_limit(str(subject.client_id), policy_limit)


class _Authoriser:
    """Shared by the bearer and cookie authenticators: resolves and authorises the subject."""

    rule: AccessRule

    def _finish(self, request: HttpRequest, subject: Subject | None) -> Subject | None:
        if subject is None:
            return None
        if subject.kind == MACHINE:
            machine_rate_limit(subject, subject.extra["client_rate_limit"])
            subject.on_behalf_of_user = header_text(request, "X-User-Id", 64)
            subject.case_number = header_text(request, "X-Case-Number", 64)
            subject.purpose = header_text(request, "X-Purpose", 200)
        if subject.user is not None:
            # A bearer token's person is the request's user, so request-level records (the
            # audit row of a denial) name them instead of "anonymous".
            request.user = subject.user
        if subject.user is not None and subject.user.kind == UserKind.STAFF:
            from onewindow.identity.passwords import password_expired

            if password_expired(subject.user):
                from onewindow.identity.errors import PASSWORD_EXPIRED

                raise ApiError(PASSWORD_EXPIRED)
        _authorise(subject, self.rule)
        request.subject = subject  # type: ignore[attr-defined]
        return subject


class BearerAuth(_Authoriser, HttpBearer):
    def __init__(self, rule: AccessRule) -> None:
        super().__init__()
        self.rule = rule

    def authenticate(self, request: HttpRequest, token: str) -> Subject | None:
        return self._finish(request, access_token_subject(token))


class CookieAuth(_Authoriser, APIKeyCookie):
    """The portal's own session cookie (CSRF-checked by django-ninja)."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, rule: AccessRule) -> None:
        super().__init__(csrf=True)
        self.rule = rule

    def authenticate(self, request: HttpRequest, key: str | None) -> Subject | None:
        return self._finish(request, subject_from_session(request))


def api_access(*kinds: str, roles: Iterable[str] = (), mfa: bool = False) -> list[Any]:
    """``auth=`` value for an API operation: bearer token or portal session, then the rule."""
    rule = AccessRule(kinds=tuple(kinds) or ANY_PERSON, roles=tuple(roles), mfa=mfa)
    auths: list[Any] = [BearerAuth(rule)]
    if MACHINE not in kinds or len(kinds) > 1:
        auths.append(CookieAuth(rule))
    return auths


def now() -> Any:
    return timezone.now()


# --- third-party routes and why they are safe ----------------------------------------------

THIRD_PARTY_ROUTES: dict[str, str] = {
    "admin:": "Django admin: OneWindowAdminSite requires an admin role and a TOTP-verified session",
    "account_": "allauth account pages: login, signup, logout and code flows are public by "
    "nature; pages that change an account require login inside allauth",
    "mfa_": "allauth MFA pages: require login inside allauth",
    "usersessions_": "allauth sessions list: requires login inside allauth",
    "oauth2_provider:authorize": "OAuth authorize: requires login (LoginRequiredMixin)",
    "oauth2_provider:token": "OAuth token endpoint: authenticates the client itself",
    "oauth2_provider:revoke-token": "OAuth revocation: authenticates the client itself",
    "oauth2_provider:oidc-connect-discovery-info": "OIDC discovery document: public by spec",
    "oauth2_provider:oauth-server-metadata": "RFC 8414 server metadata: public by spec",
    "oauth2_provider:oauth-server-metadata-issuer": "RFC 8414 server metadata: public by spec",
    "oauth2_provider:oauth-resource-metadata": "RFC 9728 resource metadata: public by spec",
    "oauth2_provider:oauth-resource-metadata-path": "RFC 9728 resource metadata: public by spec",
    "oauth2_provider:jwks-info": "OIDC public keys: public by spec",
    "oauth2_provider:user-info": "OIDC userinfo: requires a bearer access token",
    "oauth2_provider:rp-initiated-logout": "OIDC logout: acts on the caller's own session",
    "set_language": "language switch: changes only the caller's cookie",
}
