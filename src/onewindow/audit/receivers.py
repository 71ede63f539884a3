"""Audit from day one: logins, logouts, failed logins and every change made in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from onewindow.audit.models import Outcome
from onewindow.audit.services import ANONYMOUS_ACTOR, audit_record

_ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


@receiver(user_logged_in, dispatch_uid="audit_login")
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(
        actor=user.get_username(),
        action="auth.login",
        object_type="identity.user",
        object_id=user.pk,
        object_repr=user.get_username(),
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:  # the session had already expired
        return
    audit_record(
        actor=user.get_username(),
        action="auth.logout",
        object_type="identity.user",
        object_id=user.pk,
        object_repr=user.get_username(),
    )


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _on_login_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    # Django has already replaced the password in ``credentials`` with asterisks; we keep only
    # the username that was tried.
    from onewindow.identity.lockout import canonical_login_name

    # ID numbers and mobiles typed as login names are kept only as their keyed hash.
    tried = canonical_login_name(str(credentials.get("username", "")))[:150]
    audit_record(
        actor=tried or ANONYMOUS_ACTOR,
        action="auth.login_failed",
        outcome=Outcome.FAILURE,
        detail={"username": tried},
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def _on_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type: Any = instance.content_type
    user: Any = instance.user
    audit_record(
        actor=user.get_username(),
        action=_ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr,
        detail={"change": instance.get_change_message()},
    )
