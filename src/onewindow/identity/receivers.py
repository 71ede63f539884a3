"""Keep role groups in step with the permissions after every migrate; drop a cached token the
moment it is revoked, its client's policy changes, or its person's account, roles or post
change."""

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


@receiver(post_delete, sender="oauth2_provider.AccessToken", dispatch_uid="identity_token_gone")
@receiver(post_save, sender="oauth2_provider.AccessToken", dispatch_uid="identity_token_saved")
def _token_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Revoking deletes the row; a changed expiry or scope is a save. Either way the next
    # request reads the token again.
    from onewindow.identity.access import forget_tokens

    forget_tokens([instance.token_checksum])


@receiver(post_save, sender="identity.ClientPolicy", dispatch_uid="identity_policy_saved")
@receiver(post_delete, sender="identity.ClientPolicy", dispatch_uid="identity_policy_gone")
def _policy_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from oauth2_provider.models import AccessToken

    from onewindow.identity.access import forget_tokens

    tokens = AccessToken.objects.filter(application_id=instance.application_id)
    forget_tokens(tokens.values_list("token_checksum", flat=True))


@receiver(post_save, sender="identity.User", dispatch_uid="identity_user_saved")
@receiver(post_delete, sender="identity.User", dispatch_uid="identity_user_gone")
def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Deactivated, renamed, password changed: a cached token carries the old account.
    from onewindow.identity.access import forget_person_tokens

    forget_person_tokens(instance.pk)


@receiver(post_save, sender="identity.RoleAssignment", dispatch_uid="identity_role_saved")
@receiver(post_delete, sender="identity.RoleAssignment", dispatch_uid="identity_role_gone")
@receiver(post_save, sender="identity.StaffProfile", dispatch_uid="identity_staff_saved")
@receiver(post_delete, sender="identity.StaffProfile", dispatch_uid="identity_staff_gone")
def _post_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    # A role granted or taken away, a move to another department or region.
    from onewindow.identity.access import forget_person_tokens

    forget_person_tokens(instance.user_id)
