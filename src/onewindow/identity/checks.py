"""Deployment checks (``onewindow check``): demo leftovers must not reach production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def demo_sms_gateway(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if settings.SMS_GATEWAY.endswith(".LogGateway"):
        return [
            Warning(
                "The demo SMS gateway is configured: login and verification codes are written to "
                "the log instead of being sent.",
                hint="Set ONEWINDOW_SMS_GATEWAY to your gateway class (docs/operations.md).",
                id="onewindow.W001",
            )
        ]
    return []


@register(Tags.security, Tags.database, deploy=True)
def demo_accounts(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[Warning]:
    if not databases:
        return []
    from django.db import DatabaseError

    from onewindow.demo import ACCOUNTS
    from onewindow.identity.models import User

    try:
        present = list(
            User.objects.filter(
                username__in=[a.username for a in ACCOUNTS], is_active=True
            ).values_list("username", flat=True)[:5]
        )
    except DatabaseError:
        return []
    if present:
        return [
            Warning(
                f"Demo accounts with public passwords exist: {', '.join(present)} ...",
                hint="Deactivate them, or use 'onewindow demo --reset' only on demo machines.",
                id="onewindow.W002",
            )
        ]
    return []
