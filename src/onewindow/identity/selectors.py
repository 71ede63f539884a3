"""Reads of identity data, always for an acting subject.

Reading another person's real-name data is a personal-data access: it needs a purpose and
leaves an audit row (the data hub's access log takes this over in a later issue).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from onewindow.audit import selectors as audit_selectors
from onewindow.audit.models import AuditEntry
from onewindow.audit.services import audit_record
from onewindow.identity import crypto
from onewindow.identity.models import AgentGrant, CitizenProfile, Enterprise, User
from onewindow.kit.masking import mask_id_number, mask_name, mask_phone


@dataclass(frozen=True)
class MaskedProfile:
    username: str
    kind: str
    display_name: str
    real_name: str
    id_number: str
    phone: str
    phone_verified: bool


def profile_masked(*, subject: object, user: User, purpose: str) -> MaskedProfile:
    """A person's profile with identifiers masked. Only the person may read their own; staff
    reading someone else's is logged with the purpose."""
    from onewindow.identity.access import STAFF, Subject

    if not isinstance(subject, Subject):
        raise TypeError("subject must be an identity.access.Subject")
    own = subject.user is not None and subject.user.pk == user.pk
    if not own:
        if subject.kind != STAFF:
            raise PermissionDenied(_("You can only see your own profile."))
        if not purpose:
            raise PermissionDenied(_("A purpose is required to read someone's personal data."))
        audit_record(
            actor=subject.label,
            action="personal_data.read",
            object_type="identity.user",
            object_id=user.pk,
            object_repr=user.username,
            detail={"purpose": purpose},
        )
    profile = CitizenProfile.objects.filter(user=user).first()
    if profile is None:
        return MaskedProfile(user.username, user.kind, user.display_name, "", "", "", False)
    phone = crypto.decrypt(profile.phone_encrypted, crypto.PHONE) if profile.phone_encrypted else ""
    return MaskedProfile(
        username=user.username,
        kind=user.kind,
        display_name=mask_name(user.display_name) if user.display_name else "",
        real_name=mask_name(profile.real_name),
        id_number=mask_id_number(crypto.decrypt(profile.id_number_encrypted, crypto.ID_NUMBER)),
        phone=mask_phone(phone) if phone else "",
        phone_verified=profile.phone_verified,
    )


def active_grants(*, agent: User) -> QuerySet[AgentGrant]:
    return AgentGrant.objects.select_related("enterprise").filter(
        agent=agent, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def enterprises_for(*, user: User) -> QuerySet[Enterprise]:
    """Enterprises the person represents or is currently an agent of."""
    agent_of = active_grants(agent=user).values_list("enterprise_id", flat=True)
    return Enterprise.objects.filter(Q(legal_representative=user) | Q(pk__in=agent_of)).distinct()


def enterprise_visible(*, subject: object, uscc: str) -> Enterprise:
    """The enterprise, if the subject is its legal representative or an active agent."""
    from onewindow.identity.access import Subject

    if not isinstance(subject, Subject):
        raise TypeError("subject must be an identity.access.Subject")
    enterprise = Enterprise.objects.filter(uscc=uscc).first()
    if (
        enterprise is None
        or subject.user is None
        or not enterprises_for(user=subject.user).filter(pk=enterprise.pk).exists()
    ):
        # The same answer whether the enterprise exists or not.
        raise PermissionDenied(_("You do not act for this enterprise."))
    return enterprise


def enterprise_acting_check(*, user: User, uscc: str) -> Enterprise | None:
    enterprise = Enterprise.objects.filter(uscc=uscc).first()
    if enterprise is None:
        return None
    if enterprise.legal_representative_id == user.pk:
        return enterprise
    if active_grants(agent=user).filter(enterprise=enterprise).exists():
        return enterprise
    return None


def agent_may_act(*, user: User, enterprise: Enterprise, service_code: str) -> bool:
    """May ``user`` handle ``service_code`` for ``enterprise``? (representative: always)."""
    if enterprise.legal_representative_id == user.pk:
        return True
    return any(
        grant.covers(service_code)
        for grant in active_grants(agent=user).filter(enterprise=enterprise)
    )


def login_history(*, user: User, limit: int = 20) -> QuerySet[AuditEntry]:
    """The person's recent logins, logouts and failed attempts (from the audit trail)."""
    return audit_selectors.entries(
        actor=user.username, actions=["auth.login", "auth.logout", "auth.login_failed"], limit=limit
    )


def staff_ids_holding(*, department_id: int, role: str) -> list[int]:
    """Ids of the active staff of a department who hold a role (who to tell about new work).
    Ids only: no personal data leaves identity here."""
    return list(
        User.objects.filter(
            is_active=True, staff__department_id=department_id, roles__role=role
        ).values_list("pk", flat=True)
    )


def citizen_lookup_hash(*, user: User) -> str | None:
    """The keyed look-up hash (HMAC-SM3, purpose ``citizen.id_number``) of a citizen's ID
    number, for matching other registries without decrypting it; None without real-name data.
    No personal data leaves identity here."""
    profile = getattr(user, "citizen", None)
    found: str | None = profile.id_number_hash if profile is not None else None
    return found


def citizen_identity(*, user: User, purpose: str, actor: str) -> tuple[str, str] | None:
    """A citizen's real name and full ID number, for a system process that must print or
    sign them (an e-license for its holder). Audited with the purpose; None without
    real-name data."""
    profile = CitizenProfile.objects.filter(user=user).first()
    if profile is None:
        return None
    audit_record(
        actor=actor,
        action="personal_data.read",
        object_type="identity.user",
        object_id=user.pk,
        object_repr=user.username,
        detail={"purpose": purpose},
    )
    return profile.real_name, crypto.decrypt(profile.id_number_encrypted, crypto.ID_NUMBER)
