"""Accounts and who may act for whom.

* ``User`` — one login for a person: a citizen (自然人) or a staff member (工作人员).
* ``CitizenProfile`` — real-name data; the ID number and mobile are stored SM4-encrypted with an
  HMAC-SM3 look-up hash beside them, never in clear (``identity.crypto``).
* ``Enterprise`` (法人) — identified by its USCC; its legal representative is a citizen account.
* ``AgentGrant`` — the legal representative authorises an agent (经办人) for some services until
  an expiry; revocable.
* ``StaffProfile`` + ``RoleAssignment`` — department, region, data scope and roles; at most one
  of the three admin roles (三员) per person, enforced by a partial unique constraint.
* ``PasswordHistory`` — hashes of earlier passwords, so the last five are not reused.
* ``ClientPolicy`` — what an OAuth/OIDC client (another department's system, a first-party app)
  may ask for: scopes, the raw ID number, its rate limit.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserKind(models.TextChoices):
    CITIZEN = "citizen", _("citizen")
    STAFF = "staff", _("staff")


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=UserKind.choices, default=UserKind.CITIZEN
    )
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username


class CitizenProfile(models.Model):
    """Real-name data of a citizen account (实名信息)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="citizen")
    real_name = models.CharField(_("name"), max_length=64)
    id_number_encrypted = models.TextField(_("ID number (encrypted)"))
    id_number_hash = models.CharField(max_length=64, unique=True)
    phone_encrypted = models.TextField(_("mobile (encrypted)"), blank=True)
    phone_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    phone_verified = models.BooleanField(_("mobile verified"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("citizen profile")
        verbose_name_plural = _("citizen profiles")

    def __str__(self) -> str:
        from onewindow.kit.masking import mask_name

        return mask_name(self.real_name)


class Enterprise(models.Model):
    """A legal person (法人) identified by its unified social credit code."""

    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.ForeignKey(
        User,
        verbose_name=_("legal representative"),
        on_delete=models.PROTECT,
        related_name="represented_enterprises",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self) -> str:
        return self.name


class AgentGrant(models.Model):
    """An authorisation (授权) of an agent (经办人) to act for an enterprise.

    ``services`` lists the service codes the agent may handle; ``["*"]`` means every service.
    """

    ALL_SERVICES = "*"

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="grants")
    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agent_grants")
    services = models.JSONField(_("services"), default=list)
    expires_at = models.DateTimeField(_("expires at"))
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        verbose_name = _("agent grant")
        verbose_name_plural = _("agent grants")
        indexes = [models.Index(fields=["agent", "enterprise"])]

    def __str__(self) -> str:
        return f"{self.agent} → {self.enterprise}"

    def is_active(self, at: object = None) -> bool:
        now = at or timezone.now()
        return self.revoked_at is None and self.expires_at > now  # type: ignore[operator]

    def covers(self, service_code: str) -> bool:
        return self.ALL_SERVICES in self.services or service_code in self.services


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("window clerk")
    REVIEWER = "reviewer", _("reviewer")
    APPROVER = "approver", _("approver")
    DEPARTMENT_HEAD = "department_head", _("department head")
    DATA_STEWARD = "data_steward", _("data steward")
    CATALOG_EDITOR = "catalog_editor", _("catalog editor (事项管理员, own department only)")
    SYSTEM_ADMIN = "system_admin", _("system administrator")
    SECURITY_ADMIN = "security_admin", _("security administrator")
    AUDITOR = "auditor", _("auditor")


ADMIN_ROLES = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR)
# Roles that reach the admin console (always with TOTP): the three admins, and department
# staff who maintain their own department's catalog items.
CONSOLE_ROLES = (*ADMIN_ROLES, Role.CATALOG_EDITOR)
# Staff who serve applicants and work the inboxes; not the data steward, and not the three
# admins (三员 administer the platform, they do not read citizens' data).
CASEWORK_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)


class DataScope(models.TextChoices):
    DEPARTMENT = "department", _("own department")
    REGION = "region", _("all departments in own region and below")


class StaffProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff")
    department = models.ForeignKey(
        "org.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="staff",
    )
    region = models.ForeignKey(
        "org.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="staff"
    )
    data_scope = models.CharField(
        _("data scope"), max_length=16, choices=DataScope.choices, default=DataScope.DEPARTMENT
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.user} @ {self.department}"


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="identity_role_once"),
            # 三员分立: one person holds at most one of the three admin roles.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(role__in=[r.value for r in ADMIN_ROLES]),
                name="identity_one_admin_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()}"


class PasswordHistory(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=256)  # a Django password hash, never the password
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"password of {self.user_id} at {self.created_at:%Y-%m-%d}"


class ClientKind(models.TextChoices):
    FIRST_PARTY = "first_party", _("first-party app (mobile, mini program, kiosk)")
    RELYING_PARTY = "relying_party", _("single sign-on relying party")
    MACHINE = "machine", _("another department's system")


class ClientPolicy(models.Model):
    """What an OAuth client may do, beside django-oauth-toolkit's ``Application``."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="policy",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ClientKind.choices)
    department = models.ForeignKey(
        "org.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    allowed_scopes = models.CharField(
        _("allowed scopes"),
        max_length=500,
        default="openid profile",
        help_text=_("Space-separated. The client can never obtain a scope not listed here."),
    )
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=600)

    class Meta:
        verbose_name = _("client policy")
        verbose_name_plural = _("client policies")

    def __str__(self) -> str:
        return f"{self.application} ({self.kind})"

    def scopes(self) -> set[str]:
        return set(self.allowed_scopes.split())
