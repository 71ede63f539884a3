from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from onewindow.kit import context
from onewindow.portal.preferences import DisplayPreferences


def display_preferences(request: HttpRequest) -> dict[str, object]:
    prefs = DisplayPreferences.from_request(request)
    return {
        "display": prefs,
        "display_classes": prefs.css_classes(),
        "platform_name": settings.ONEWINDOW_PLATFORM_NAME,
        "request_id": context.current().request_id,
        "acting_for": _acting_for(request),
    }


def _acting_for(request: HttpRequest) -> object:
    from onewindow.identity.access import acting_for

    return acting_for(request)
