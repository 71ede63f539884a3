"""Keep role groups in step with the permissions after every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate, dispatch_uid="identity_admin_groups")
def _admin_groups(sender: Any, **kwargs: Any) -> None:
    # After every app's migration: permissions of apps migrated later (org, audit, axes ...)
    # only exist once their own post_migrate has run. Idempotent and cheap.
    from onewindow.identity.services import admin_groups_ensure

    admin_groups_ensure()


@receiver(user_logged_in, dispatch_uid="identity_reset_login_failures")
def _reset_failures(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from onewindow.identity.lockout import reset_login_name_failures, username_from_request

    if request is not None:
        reset_login_name_failures(username_from_request(request, None))
