"""Keep role groups in step with the permissions after every migrate; drop a cached machine
token the moment it is revoked or its client's policy changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_migrate, post_save
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


def _forget_tokens(checksums: list[str]) -> None:
    from django.core.cache import cache

    from onewindow.identity.access import machine_token_cache_key

    if checksums:
        cache.delete_many([machine_token_cache_key(c) for c in checksums])


@receiver(post_delete, sender="oauth2_provider.AccessToken", dispatch_uid="identity_token_gone")
@receiver(post_save, sender="oauth2_provider.AccessToken", dispatch_uid="identity_token_saved")
def _token_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Revoking deletes the row; a changed expiry or scope is a save. Either way the next
    # request reads the token again.
    if instance.token_checksum:
        _forget_tokens([instance.token_checksum])


@receiver(post_save, sender="identity.ClientPolicy", dispatch_uid="identity_policy_saved")
@receiver(post_delete, sender="identity.ClientPolicy", dispatch_uid="identity_policy_gone")
def _policy_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from oauth2_provider.models import AccessToken

    _forget_tokens(
        list(
            AccessToken.objects.filter(application_id=instance.application_id).values_list(
                "token_checksum", flat=True
            )
        )
    )
