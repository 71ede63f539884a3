"""Writes to identity tables. Each use case is one function, taking the acting subject."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import AccessToken, Application, RefreshToken

from onewindow.audit.services import SYSTEM_ACTOR, audit_record
from onewindow.identity import crypto
from onewindow.identity.access import forget_person_tokens
from onewindow.identity.models import (
    ADMIN_ROLES,
    CONSOLE_ROLES,
    AgentGrant,
    CitizenProfile,
    ClientKind,
    ClientPolicy,
    DataScope,
    Enterprise,
    Role,
    RoleAssignment,
    StaffProfile,
    User,
    UserKind,
)
from onewindow.kit import validators
from onewindow.kit.masking import mask_id_number

# --- citizens -------------------------------------------------------------------------------


def _check_id_number(id_number: str) -> str:
    from onewindow.org.selectors import platform_province_prefixes

    id_number = validators.normalize_id_number(id_number)
    result = validators.validate_id_number(id_number, extra_provinces=platform_province_prefixes())
    if not result.valid:
        raise ValidationError({"id_number": result.reason})
    return id_number


def _check_mobile(phone: str) -> str:
    try:
        return validators.normalize_mobile(phone)
    except ValueError:
        raise ValidationError({"phone": _("Enter an 11-digit mainland mobile number.")}) from None


@transaction.atomic
def citizen_profile_set(
    *, user: User, real_name: str, id_number: str, phone: str = "", phone_verified: bool = False
) -> CitizenProfile:
    """Attach (or correct) the real-name data of a citizen account."""
    real_name = real_name.strip()
    if not real_name:
        raise ValidationError({"real_name": _("Enter your name as on your ID card.")})
    id_number = _check_id_number(id_number)
    id_hash = crypto.lookup_hash(id_number, crypto.ID_NUMBER)
    clash = CitizenProfile.objects.filter(id_number_hash=id_hash).exclude(user=user)
    if clash.exists():
        raise ValidationError({"id_number": _("An account with this ID number already exists.")})
    profile = CitizenProfile.objects.filter(user=user).first() or CitizenProfile(user=user)
    profile.real_name = real_name
    profile.id_number_encrypted = crypto.encrypt(id_number, crypto.ID_NUMBER)
    profile.id_number_hash = id_hash
    profile.save()
    if phone:
        citizen_phone_set(user=user, phone=phone, verified=phone_verified)
        profile.refresh_from_db()
    if not user.display_name:
        User.objects.filter(pk=user.pk).update(display_name=real_name)
        forget_person_tokens(user.pk)
    return profile


@transaction.atomic
def citizen_phone_set(*, user: User, phone: str, verified: bool) -> None:
    phone = _check_mobile(phone)
    phone_hash = crypto.lookup_hash(phone, crypto.PHONE)
    if CitizenProfile.objects.filter(phone_hash=phone_hash).exclude(user=user).exists():
        raise ValidationError({"phone": _("This mobile number is used by another account.")})
    updated = CitizenProfile.objects.filter(user=user).update(
        phone_encrypted=crypto.encrypt(phone, crypto.PHONE),
        phone_hash=phone_hash,
        phone_verified=verified,
    )
    if not updated:
        raise ValidationError({"phone": _("Complete your real-name data first.")})


@transaction.atomic
def citizen_register(
    *, username: str, password: str, real_name: str, id_number: str, phone: str
) -> User:
    """Create a citizen account with real-name data (password rules apply)."""
    from django.contrib.auth.password_validation import validate_password

    from onewindow.identity.adapters import looks_like_identifier

    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    if looks_like_identifier(username):
        raise ValidationError(
            {"username": _("A username cannot be a mobile number or an ID number; choose another.")}
        )
    user = User(username=username, kind=UserKind.CITIZEN)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    citizen_profile_set(user=user, real_name=real_name, id_number=id_number, phone=phone)
    audit_record(
        actor=username,
        action="identity.register",
        object_type="identity.user",
        object_id=user.pk,
        object_repr=username,
    )
    return user


# --- enterprises and agents ----------------------------------------------------------------


@transaction.atomic
def enterprise_register(*, uscc: str, name: str, legal_representative: User) -> Enterprise:
    from onewindow.org.selectors import platform_province_prefixes

    uscc = validators.normalize_uscc(uscc)
    result = validators.validate_uscc(uscc, extra_provinces=platform_province_prefixes())
    if not result.valid:
        raise ValidationError({"uscc": result.reason})
    if not hasattr(legal_representative, "citizen"):
        raise ValidationError(
            {"legal_representative": _("The legal representative needs a real-name account.")}
        )
    enterprise = Enterprise.objects.filter(uscc=uscc).first() or Enterprise(uscc=uscc)
    enterprise.name = name
    enterprise.legal_representative = legal_representative
    enterprise.save()
    return enterprise


def _require_legal_representative(actor: User, enterprise: Enterprise) -> None:
    if enterprise.legal_representative_id != actor.pk:
        raise PermissionDenied(_("Only the legal representative can manage agents."))


@transaction.atomic
def agent_grant(
    *,
    actor: User,
    enterprise: Enterprise,
    agent: User,
    services: Iterable[str],
    expires_at: dt.datetime,
) -> AgentGrant:
    """The legal representative authorises ``agent`` for ``services`` until ``expires_at``."""
    _require_legal_representative(actor, enterprise)
    services = sorted({s.strip() for s in services if s.strip()})
    if not services:
        raise ValidationError({"services": _("Choose at least one service (or all).")})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    if agent.pk == actor.pk:
        raise ValidationError({"agent": _("The legal representative needs no grant.")})
    if not hasattr(agent, "citizen"):
        raise ValidationError({"agent": _("The agent needs a real-name account.")})
    grant = AgentGrant.objects.create(
        enterprise=enterprise,
        agent=agent,
        services=services,
        expires_at=expires_at,
        granted_by=actor,
    )
    audit_record(
        actor=actor.username,
        action="identity.agent_grant",
        object_type="identity.agentgrant",
        object_id=grant.pk,
        object_repr=f"{agent.username} @ {enterprise.uscc}",
        detail={
            "on_behalf_of": enterprise.uscc,
            "services": services,
            "expires_at": expires_at.isoformat(),
        },
    )
    return grant


@transaction.atomic
def agent_revoke(*, actor: User, grant: AgentGrant) -> AgentGrant:
    _require_legal_representative(actor, grant.enterprise)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=actor.username,
            action="identity.agent_revoke",
            object_type="identity.agentgrant",
            object_id=grant.pk,
            object_repr=f"{grant.agent.username} @ {grant.enterprise.uscc}",
            detail={"on_behalf_of": grant.enterprise.uscc},
        )
    return grant


# --- staff and roles -----------------------------------------------------------------------


@transaction.atomic
def staff_upsert(
    *,
    username: str,
    display_name: str,
    department: Any,
    region: Any,
    roles: Iterable[str],
    data_scope: str = DataScope.DEPARTMENT,
    password: str | None = None,
) -> User:
    from onewindow.identity.adapters import looks_like_identifier

    if looks_like_identifier(username):
        raise ValidationError(
            {"username": _("A username cannot be a mobile number or an ID number; choose another.")}
        )
    user = User.objects.filter(username=username).first() or User(username=username)
    user.kind = UserKind.STAFF
    user.display_name = display_name
    roles = list(dict.fromkeys(roles))
    user.is_staff = any(role in CONSOLE_ROLES for role in roles)
    user.is_superuser = False
    if password is not None:
        user.set_password(password)
    user.save()
    StaffProfile.objects.update_or_create(
        user=user, defaults={"department": department, "region": region, "data_scope": data_scope}
    )
    roles_set(user=user, roles=roles)
    return user


@transaction.atomic
def roles_set(*, user: User, roles: Iterable[str]) -> None:
    """Replace the user's roles. Two admin roles for one person are refused (三员分立)."""
    roles = list(dict.fromkeys(roles))
    if len([r for r in roles if r in ADMIN_ROLES]) > 1:
        raise ValidationError({"roles": _("One person cannot hold two administrator roles.")})
    for role in roles:
        Role(role)  # raises ValueError for an unknown role
    RoleAssignment.objects.filter(user=user).exclude(role__in=roles).delete()
    for role in roles:
        try:
            with transaction.atomic():
                RoleAssignment.objects.get_or_create(user=user, role=role)
        except IntegrityError:
            raise ValidationError(
                {"roles": _("One person cannot hold two administrator roles.")}
            ) from None
    console_groups = Group.objects.filter(name__in=[r.value for r in CONSOLE_ROLES])
    user.groups.remove(*console_groups)
    user.groups.add(*Group.objects.filter(name__in=[r for r in roles if r in CONSOLE_ROLES]))
    is_admin = any(role in CONSOLE_ROLES for role in roles)
    if user.is_staff != is_admin:
        User.objects.filter(pk=user.pk).update(is_staff=is_admin)
        forget_person_tokens(user.pk)
        user.is_staff = is_admin


# Which models each admin role manages in the console (三员: separated duties).
ADMIN_ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    Role.SYSTEM_ADMIN: [
        ("catalog", "serviceitem", ("view", "add", "change", "delete")),
        ("catalog", "serviceversion", ("view", "add", "change", "delete")),
        ("catalog", "material", ("view", "add", "change", "delete")),
        ("catalog", "fee", ("view", "add", "change", "delete")),
        ("catalog", "lifeevent", ("view", "add", "change", "delete")),
        ("catalog", "synonymgroup", ("view", "add", "change", "delete")),
        ("workflow", "calendaryear", ("view", "add", "change", "delete")),
        ("workflow", "calendarday", ("view", "add", "change", "delete")),
        ("org", "region", ("view", "add", "change", "delete")),
        ("org", "department", ("view", "add", "change", "delete")),
        ("org", "servicehall", ("view", "add", "change", "delete")),
        ("org", "window", ("view", "add", "change", "delete")),
        ("events", "outboxevent", ("view",)),  # the outbox, read-only: dead deliveries
        ("events", "delivery", ("view",)),
    ],
    Role.SECURITY_ADMIN: [
        ("identity", "user", ("view", "change")),
        ("identity", "roleassignment", ("view", "add", "change", "delete")),
        ("identity", "staffprofile", ("view", "add", "change", "delete")),
        ("identity", "clientpolicy", ("view", "add", "change", "delete")),
        ("oauth2_provider", "application", ("view", "add", "change", "delete")),
        ("axes", "accessattempt", ("view", "delete")),
    ],
    Role.CATALOG_EDITOR: [
        ("catalog", "serviceitem", ("view", "add", "change")),
        ("catalog", "serviceversion", ("view", "add", "change", "delete")),
        ("catalog", "material", ("view", "add", "change", "delete")),
        ("catalog", "fee", ("view", "add", "change", "delete")),
    ],
    Role.AUDITOR: [
        ("audit", "auditentry", ("view",)),
        ("axes", "accessattempt", ("view",)),
        ("axes", "accessfailurelog", ("view",)),
        ("axes", "accesslog", ("view",)),
    ],
}


@transaction.atomic
def admin_groups_ensure() -> None:
    """Create one permission group per admin role with exactly the permissions it needs."""
    for role, grants in ADMIN_ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for app_label, model, actions in grants:
            for action in actions:
                perm = Permission.objects.filter(
                    content_type__app_label=app_label, codename=f"{action}_{model}"
                ).first()
                if perm is not None:
                    perms.append(perm)
        group.permissions.set(perms)


# --- OAuth clients and first-party tokens --------------------------------------------------


@transaction.atomic
def client_register(
    *,
    name: str,
    kind: str,
    client_id: str,
    client_secret: str | None = None,
    redirect_uris: str = "",
    allowed_scopes: str = "openid profile",
    department: Any = None,
    rate_limit_per_minute: int = 600,
) -> Application:
    """Register an OAuth/OIDC client with its policy (also possible in the admin)."""
    grant_type = {
        ClientKind.MACHINE: Application.GRANT_CLIENT_CREDENTIALS,
        ClientKind.RELYING_PARTY: Application.GRANT_AUTHORIZATION_CODE,
        # First-party tokens are minted by /api/v1/auth/login (lockout + MFA), never by the
        # OAuth token endpoint: an authorization-code client without redirect URIs cannot
        # obtain anything there.
        ClientKind.FIRST_PARTY: Application.GRANT_AUTHORIZATION_CODE,
    }[ClientKind(kind)]
    app = Application.objects.filter(client_id=client_id).first() or Application(
        client_id=client_id
    )
    app.name = name
    app.authorization_grant_type = grant_type
    app.client_type = (
        Application.CLIENT_PUBLIC
        if kind == ClientKind.FIRST_PARTY
        else Application.CLIENT_CONFIDENTIAL
    )
    if client_secret is not None:
        app.client_secret = client_secret  # hashed on save by django-oauth-toolkit
    app.redirect_uris = redirect_uris
    app.algorithm = Application.RS256_ALGORITHM if kind == ClientKind.RELYING_PARTY else ""
    app.skip_authorization = False
    app.save()
    ClientPolicy.objects.update_or_create(
        application=app,
        defaults={
            "kind": kind,
            "allowed_scopes": allowed_scopes,
            "department": department,
            "rate_limit_per_minute": rate_limit_per_minute,
        },
    )
    return app


FIRST_PARTY_CLIENT_ID = "onewindow-first-party"


def first_party_application() -> Application:
    app = Application.objects.filter(client_id=FIRST_PARTY_CLIENT_ID).first()
    if app is None:
        app = client_register(
            name="OneWindow apps (mobile, mini program, kiosk)",
            kind=ClientKind.FIRST_PARTY,
            client_id=FIRST_PARTY_CLIENT_ID,
            allowed_scopes="openid profile phone",
        )
    return app


def _token_pair(user: User, scope: str) -> tuple[str, str, AccessToken]:
    from oauth2_provider.models import set_token_value

    app = first_party_application()
    now = timezone.now()
    access_raw, refresh_raw = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    access = AccessToken(
        user=user,
        application=app,
        scope=scope,
        expires=now + dt.timedelta(seconds=settings.FIRST_PARTY_ACCESS_TOKEN_SECONDS),
    )
    set_token_value(access, access_raw)
    access.save()
    refresh = RefreshToken(user=user, application=app, access_token=access)
    set_token_value(refresh, refresh_raw)
    refresh.save()
    return access_raw, refresh_raw, access


@transaction.atomic
def token_issue(*, user: User, mfa: bool) -> tuple[str, str, AccessToken]:
    """Tokens for a first-party app after a successful login. ``mfa`` marks a TOTP login,
    which admin operations require."""
    scope = "profile" + (" mfa" if mfa else "")  # our own API's token, not an OpenID login
    return _token_pair(user, scope)


@transaction.atomic
def token_refresh(*, refresh_raw: str) -> tuple[str, str, AccessToken] | None:
    """Swap a refresh token for a new pair (the old pair is revoked). None if invalid."""
    import hashlib

    checksum = hashlib.sha256(refresh_raw.encode()).hexdigest()
    old = (
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the outer join
        # that select_related("access_token") makes.
        RefreshToken.objects.select_for_update(of=("self",))
        .select_related("access_token", "user")
        .filter(
            token_checksum=checksum,
            revoked__isnull=True,
            application__client_id=FIRST_PARTY_CLIENT_ID,
        )
        .first()
    )
    max_age = dt.timedelta(seconds=settings.FIRST_PARTY_REFRESH_TOKEN_SECONDS)
    if old is None or old.created + max_age < timezone.now() or not old.user.is_active:
        return None
    scope = old.access_token.scope if old.access_token else "profile"
    user = old.user
    old.revoke()
    return _token_pair(user, scope)


@transaction.atomic
def token_revoke_by_checksum(checksum: str) -> None:
    """Revoke the access token with this SHA-256 checksum (and its refresh token), if any."""
    access = AccessToken.objects.filter(token_checksum=checksum).first()
    if access is not None:
        token_revoke(access=access)


@transaction.atomic
def token_revoke(*, access: AccessToken) -> None:
    refresh = RefreshToken.objects.filter(access_token=access).first()
    if refresh is not None:
        refresh.revoke()  # also deletes the access token
    else:
        access.revoke()


def id_number_for_display(profile: CitizenProfile) -> str:
    return mask_id_number(crypto.decrypt(profile.id_number_encrypted, crypto.ID_NUMBER))


@transaction.atomic
def mfa_totp_set(*, user: User, secret: str) -> None:
    """Enrol (or re-enrol) a TOTP authenticator with a known secret (demo and migration use);
    people enrol themselves on the security page."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    TOTP.activate(user, secret)


@transaction.atomic
def user_delete(*, username: str) -> int:
    user = User.objects.filter(username=username).first()
    if user is None:
        return 0
    Enterprise.objects.filter(legal_representative=user).delete()
    user.delete()
    return 1


@transaction.atomic
def citizen_upsert(
    *, username: str, password: str, real_name: str, id_number: str, phone: str
) -> User:
    """Create or reset a citizen account (demo seeding; people register themselves)."""
    user = User.objects.filter(username=username).first() or User(username=username)
    user.kind = UserKind.CITIZEN
    user.is_staff = user.is_superuser = False
    user.set_password(password)
    user.save()
    citizen_profile_set(
        user=user, real_name=real_name, id_number=id_number, phone=phone, phone_verified=True
    )
    return user


@dataclass(frozen=True)
class AdminCredentials:
    username: str
    password: str
    totp_secret: str
    otpauth_uri: str


@transaction.atomic
def admin_bootstrap(
    *, username: str, role: str, department: Any, display_name: str = ""
) -> AdminCredentials:
    """Create one of the three administrators with a random password and a TOTP secret (the
    first admins of a new installation; later ones are made in the console by the security
    admin). The credentials are shown once and never stored in clear."""
    from allauth.mfa.totp.internal.auth import generate_totp_secret

    if role not in {r.value for r in ADMIN_ROLES}:
        raise ValidationError({"role": _("Choose one of the three administrator roles.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    password = "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))
    password += "-9aZ"  # guarantees digits and both cases whatever the random part holds
    user = staff_upsert(
        username=username,
        display_name=display_name or username,
        department=department,
        region=department.region,
        roles=[role],
        password=password,
    )
    secret = generate_totp_secret()
    mfa_totp_set(user=user, secret=secret)
    audit_record(
        actor=SYSTEM_ACTOR,
        action="identity.admin_bootstrap",
        object_type="identity.user",
        object_id=user.pk,
        object_repr=username,
        detail={"role": role},
    )
    uri = f"otpauth://totp/OneWindow:{username}?secret={secret}&issuer=OneWindow"
    return AdminCredentials(username, password, secret, uri)
