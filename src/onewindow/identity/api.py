"""Identity API: first-party login tokens, the profile, enterprises and their agents, and the
admin operations of the security admin and the auditor (TOTP sessions or tokens only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from onewindow.audit.services import audit_record
from onewindow.identity import errors as identity_errors
from onewindow.identity import selectors, services
from onewindow.identity.access import (
    CITIZEN,
    MACHINE,
    STAFF,
    Subject,
    api_access,
    header_text,
    public_operation,
)
from onewindow.identity.models import CASEWORK_ROLES, CONSOLE_ROLES, AgentGrant, Role, User
from onewindow.identity.passwords import password_expired
from onewindow.kit.errors import VALIDATION_FAILED, ApiError, FieldError

router = Router(tags=["identity"])


def _subject(request: HttpRequest) -> Subject:
    subject: Subject = getattr(request, "subject")  # noqa: B009 - set by the auth classes
    return subject


def _person(request: HttpRequest) -> tuple[Subject, User]:
    subject = _subject(request)
    if subject.user is None:
        raise PermissionDenied
    return subject, subject.user


def _enterprise(request: HttpRequest, uscc: str) -> tuple[User, Any]:
    """The person and the enterprise they represent or act for (403 otherwise)."""
    subject, user = _person(request)
    return user, selectors.enterprise_visible(subject=subject, uscc=uscc.upper())


def _validation_error(exc: ValidationError) -> ApiError:
    details = [
        FieldError(field=name, code="invalid", message=str(msg))
        for name, messages in exc.message_dict.items()
        for msg in messages
    ]
    return ApiError(VALIDATION_FAILED, details=details)


# --- tokens for first-party apps -----------------------------------------------------------


class LoginIn(Schema):
    username: str = Field(min_length=1, max_length=150, description="username, ID number or mobile")
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, max_length=12, description="TOTP code, when enrolled")


class TokenOut(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int


class RefreshIn(Schema):
    refresh_token: str = Field(min_length=1, max_length=200)


def _token_out(access_raw: str, refresh_raw: str) -> TokenOut:
    from django.conf import settings

    return TokenOut(
        access_token=access_raw,
        refresh_token=refresh_raw,
        expires_in=settings.FIRST_PARTY_ACCESS_TOKEN_SECONDS,
    )


def _failed(request: HttpRequest, username: str) -> None:
    """Count a failed second factor like a failed password (django-axes and the audit)."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def _reset_failures(request: HttpRequest, username: str) -> None:
    """The API login sends no ``user_logged_in`` (no session), so clear the login name's
    failures here, as identity.receivers does for page logins."""
    from onewindow.identity.lockout import reset_login_name_failures, username_from_request

    reset_login_name_failures(username_from_request(request, {"username": username}))


@router.post("/auth/login", response=TokenOut, summary="Log in (first-party apps)")
@public_operation
def login(request: HttpRequest, payload: LoginIn) -> TokenOut:
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise ApiError(identity_errors.ACCOUNT_LOCKED)
    if user is None:
        raise ApiError(identity_errors.INVALID_CREDENTIALS)
    if password_expired(user):
        raise ApiError(identity_errors.PASSWORD_EXPIRED)
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    is_admin = user.roles.filter(role__in=[r.value for r in CONSOLE_ROLES]).exists()
    if totp is None and is_admin:
        raise ApiError(identity_errors.MFA_ENROLMENT_REQUIRED)
    if totp is not None:
        if not payload.otp:
            raise ApiError(identity_errors.MFA_REQUIRED)
        if not TOTP(totp).validate_code(payload.otp.strip()):
            _failed(request, payload.username)
            if getattr(request, "axes_locked_out", False):
                raise ApiError(identity_errors.ACCOUNT_LOCKED)
            raise ApiError(identity_errors.MFA_INVALID)
    _reset_failures(request, payload.username)
    access_raw, refresh_raw, _ = services.token_issue(user=user, mfa=totp is not None)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    audit_record(
        actor=user.get_username(),
        action="auth.login",
        object_type="identity.user",
        object_id=user.pk,
        object_repr=user.get_username(),
        detail={"channel": "api", "mfa": totp is not None},
    )
    return _token_out(access_raw, refresh_raw)


@router.post("/auth/refresh", response=TokenOut, summary="Swap a refresh token for new tokens")
@public_operation
def refresh(request: HttpRequest, payload: RefreshIn) -> TokenOut:
    pair = services.token_refresh(refresh_raw=payload.refresh_token)
    if pair is None:
        raise ApiError(identity_errors.TOKEN_INVALID)
    return _token_out(pair[0], pair[1])


@router.post(
    "/auth/logout",
    response={204: None},
    auth=api_access(CITIZEN, STAFF),
    summary="Revoke the current tokens",
)
def logout(request: HttpRequest) -> Status[None]:
    subject = _subject(request)
    checksum = subject.extra.get("token_checksum")
    if checksum:
        services.token_revoke_by_checksum(checksum)
    audit_record(actor=subject.label, action="auth.logout", detail={"channel": "api"})
    return Status(204, None)


# --- the profile ----------------------------------------------------------------------------


class EnterpriseRef(Schema):
    uscc: str
    name: str
    relation: str


class MeOut(Schema):
    username: str
    kind: str
    display_name: str
    real_name: str
    id_number: str = Field(description="masked: 110***********1234")
    phone: str = Field(description="masked: 138****5678")
    phone_verified: bool
    roles: list[str]
    department: str | None
    mfa: bool
    enterprises: list[EnterpriseRef]


@router.get("/me", response=MeOut, auth=api_access(CITIZEN, STAFF), summary="My profile (masked)")
def me(request: HttpRequest) -> MeOut:
    subject = _subject(request)
    if subject.user is None:
        raise PermissionDenied
    profile = selectors.profile_masked(subject=subject, user=subject.user, purpose="self-service")
    enterprises = [
        EnterpriseRef(
            uscc=e.uscc,
            name=e.name,
            relation="legal_representative"
            if e.legal_representative_id == subject.user.pk
            else "agent",
        )
        for e in selectors.enterprises_for(user=subject.user)
    ]
    staff = getattr(subject.user, "staff", None)
    return MeOut(
        username=profile.username,
        kind=profile.kind,
        display_name=profile.display_name,
        real_name=profile.real_name,
        id_number=profile.id_number,
        phone=profile.phone,
        phone_verified=profile.phone_verified,
        roles=sorted(subject.roles),
        department=staff.department.code if staff else None,
        mfa=subject.mfa,
        enterprises=enterprises,
    )


@router.get(
    "/users/{username}",
    response=MeOut,
    auth=api_access(CITIZEN, STAFF),
    summary="Someone's profile (staff only, with X-Purpose)",
)
def user_profile(request: HttpRequest, username: str) -> MeOut:
    subject = _subject(request)
    user = User.objects.filter(username=username).first()
    if user is None:
        raise PermissionDenied  # no hint whether the account exists
    own = subject.user is not None and subject.user.username == username
    if not own and subject.kind == STAFF and not subject.roles & {r.value for r in CASEWORK_ROLES}:
        raise PermissionDenied
    purpose = header_text(request, "X-Purpose", 200)
    profile = selectors.profile_masked(subject=subject, user=user, purpose=purpose)
    return MeOut(
        username=profile.username,
        kind=profile.kind,
        display_name=profile.display_name,
        real_name=profile.real_name,
        id_number=profile.id_number,
        phone=profile.phone,
        phone_verified=profile.phone_verified,
        roles=[],
        department=None,
        mfa=False,
        enterprises=[],
    )


# --- enterprises and agents ----------------------------------------------------------------


class EnterpriseOut(Schema):
    uscc: str
    name: str
    legal_representative: str = Field(description="masked name")
    relation: str


class GrantIn(Schema):
    agent: str = Field(description="the agent's username, ID number or mobile")
    services: list[str] = Field(min_length=1, max_length=200)
    expires_at: dt.datetime


class GrantOut(Schema):
    id: int
    agent: str
    services: list[str]
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


class ActCheckIn(Schema):
    service_code: str = Field(min_length=1, max_length=64)


def _grant_out(grant: AgentGrant) -> GrantOut:
    return GrantOut(
        id=grant.pk,
        agent=grant.agent.username,
        services=grant.services,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        active=grant.is_active(),
    )


@router.get(
    "/enterprises/{uscc}",
    response=EnterpriseOut,
    auth=api_access(CITIZEN),
    summary="An enterprise I represent or act for",
)
def enterprise_detail(request: HttpRequest, uscc: str) -> EnterpriseOut:
    from onewindow.kit.masking import mask_name

    user, enterprise = _enterprise(request, uscc)
    rep = enterprise.legal_representative
    relation = "legal_representative" if rep.pk == user.pk else "agent"
    rep_name = rep.citizen.real_name if hasattr(rep, "citizen") else rep.display_name
    return EnterpriseOut(
        uscc=enterprise.uscc,
        name=enterprise.name,
        legal_representative=mask_name(rep_name),
        relation=relation,
    )


@router.get(
    "/enterprises/{uscc}/agents",
    response=list[GrantOut],
    auth=api_access(CITIZEN),
    summary="Agents of an enterprise (legal representative only)",
)
def agents(request: HttpRequest, uscc: str) -> list[GrantOut]:
    user, enterprise = _enterprise(request, uscc)
    if enterprise.legal_representative_id != user.pk:
        raise PermissionDenied
    grants = AgentGrant.objects.filter(enterprise=enterprise).select_related("agent")
    return [_grant_out(g) for g in grants.order_by("-granted_at")]


@router.post(
    "/enterprises/{uscc}/agents",
    response={201: GrantOut},
    auth=api_access(CITIZEN),
    summary="Authorise an agent (legal representative only)",
)
def agent_add(request: HttpRequest, uscc: str, payload: GrantIn) -> Status[GrantOut]:
    from onewindow.identity.backends import user_for_identifier

    user, enterprise = _enterprise(request, uscc)
    agent = user_for_identifier(payload.agent)
    if agent is None:
        raise ApiError(
            VALIDATION_FAILED,
            details=[FieldError("agent", "unknown", identity_errors.INVALID_CREDENTIALS.message)],
        )
    try:
        grant = services.agent_grant(
            actor=user,
            enterprise=enterprise,
            agent=agent,
            services=payload.services,
            expires_at=payload.expires_at,
        )
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    return Status(201, _grant_out(grant))


@router.delete(
    "/enterprises/{uscc}/agents/{grant_id}",
    response=GrantOut,
    auth=api_access(CITIZEN),
    summary="Revoke an agent's grant",
)
def agent_remove(request: HttpRequest, uscc: str, grant_id: int) -> GrantOut:
    user, enterprise = _enterprise(request, uscc)
    grant = AgentGrant.objects.filter(pk=grant_id, enterprise=enterprise).first()
    if grant is None:
        raise PermissionDenied
    return _grant_out(services.agent_revoke(actor=user, grant=grant))


@router.post(
    "/enterprises/{uscc}/act",
    response={204: None},
    auth=api_access(CITIZEN),
    summary="May I handle this service for the enterprise? 403 when outside the grant",
)
def act_check(request: HttpRequest, uscc: str, payload: ActCheckIn) -> Status[None]:
    user, enterprise = _enterprise(request, uscc)
    if not selectors.agent_may_act(
        user=user,
        enterprise=enterprise,
        service_code=payload.service_code,
    ):
        raise ApiError(identity_errors.AGENT_OUT_OF_SCOPE)
    return Status(204, None)


# --- admin API (TOTP-verified admins only) -------------------------------------------------


class AuditEntryOut(Schema):
    seq: int
    occurred_at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    outcome: str
    ip: str | None
    request_id: str


class LockoutOut(Schema):
    username: str | None
    ip_address: str | None
    failures: int
    attempt_time: dt.datetime


@router.get(
    "/admin/audit-entries",
    response=list[AuditEntryOut],
    auth=api_access(STAFF, roles=[Role.AUDITOR], mfa=True),
    summary="The audit trail, newest first (auditor)",
)
def audit_entries(
    request: HttpRequest, actor: str | None = None, limit: int = 50
) -> list[AuditEntryOut]:
    from onewindow.audit.selectors import entries

    return [
        AuditEntryOut.model_validate(e, from_attributes=True)
        for e in entries(actor=actor, limit=limit)
    ]


@router.get(
    "/admin/lockouts",
    response=list[LockoutOut],
    auth=api_access(STAFF, roles=[Role.SECURITY_ADMIN, Role.AUDITOR], mfa=True),
    summary="Recent failed-login records (security admin, auditor)",
)
def lockouts(request: HttpRequest) -> list[LockoutOut]:
    from axes.models import AccessAttempt

    return [
        LockoutOut(
            username=a.username,
            ip_address=a.ip_address,
            failures=a.failures_since_start,
            attempt_time=a.attempt_time,
        )
        for a in AccessAttempt.objects.order_by("-attempt_time")[:200]
    ]


class UnlockIn(Schema):
    username: str | None = None
    ip_address: str | None = None


@router.post(
    "/admin/lockouts/reset",
    response={204: None},
    auth=api_access(STAFF, roles=[Role.SECURITY_ADMIN], mfa=True),
    summary="Lift a lockout (security admin)",
)
def lockout_reset(request: HttpRequest, payload: UnlockIn) -> Status[None]:
    from axes.utils import reset

    if not payload.username and not payload.ip_address:
        raise ApiError(VALIDATION_FAILED, details=[FieldError("username", "missing", "")])
    from onewindow.identity.lockout import canonical_login_name

    name = canonical_login_name(payload.username) if payload.username else None
    reset(username=name, ip=payload.ip_address)
    payload.username = name
    audit_record(
        actor=_subject(request).label,
        action="admin.lockout_reset",
        detail={"username": payload.username, "ip": payload.ip_address},
    )
    return Status(204, None)


# --- machine clients -----------------------------------------------------------------------


class WhoAmIOut(Schema):
    kind: str
    username: str | None
    client_id: str | None
    scopes: list[str]
    on_behalf_of_user: str
    case_number: str
    purpose: str


@router.get(
    "/auth/whoami",
    response=WhoAmIOut,
    auth=api_access(CITIZEN, STAFF, MACHINE),
    summary="Who the platform takes the caller to be (integration check for departments)",
)
def whoami(request: HttpRequest) -> WhoAmIOut:
    subject = _subject(request)
    return WhoAmIOut(
        kind=subject.kind,
        username=subject.user.get_username() if subject.user else None,
        client_id=subject.client_id,
        scopes=sorted(subject.scopes),
        on_behalf_of_user=subject.on_behalf_of_user,
        case_number=subject.case_number,
        purpose=subject.purpose,
    )
