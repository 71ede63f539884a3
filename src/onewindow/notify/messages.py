"""The text of each kind of notification, rendered at display time in the reader's language.

Templates are English msgids with ``{name}`` placeholders filled from the notification's
``params``. Only plain ``{word}`` placeholders are substituted (no attribute access, no format
specs: a translation cannot reach into Python objects); a placeholder without a value becomes
empty and unknown parameters are ignored, so no combination of parameters can break a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from onewindow.events import names

TEMPLATES: dict[str, str | Promise] = {
    names.APPLICATION_SUBMITTED: _("Your application {number} ({service_name}) was submitted."),
    names.APPLICATION_ACCEPTED: _("Your application {number} ({service_name}) was accepted."),
    names.APPLICATION_NOT_ACCEPTED: _(
        "Your application {number} ({service_name}) was not accepted: {reason}"
    ),
    names.APPLICATION_SUPPLEMENT_REQUESTED: _(
        "Please supplement the materials of your application {number} ({service_name}): {reason}"
    ),
    names.APPLICATION_SUPPLEMENT_RETURNED: _(
        "The supplemented materials of application {number} ({service_name}) were received."
    ),
    names.APPLICATION_SUSPENDED: _(
        "Your application {number} ({service_name}) is suspended: {reason}"
    ),
    names.APPLICATION_RESUMED: _("Your application {number} ({service_name}) has resumed."),
    names.APPLICATION_EXTENDED: _(
        "The time limit of your application {number} ({service_name}) was extended to {due_date}."
    ),
    names.APPLICATION_APPROVED: _("Your application {number} ({service_name}) was approved."),
    names.APPLICATION_REJECTED: _(
        "Your application {number} ({service_name}) was rejected: {reason}"
    ),
    names.APPLICATION_COMPLETED: _("Your application {number} ({service_name}) is complete."),
    names.TASK_ASSIGNED: _("New task: application {number} ({service_name}), due {due_date}."),
    names.TASK_OVERDUE: _(
        "Overdue task: application {number} ({service_name}) was due {due_date}."
    ),
    names.TASK_ESCALATED: _(
        "Escalated to you: application {number} ({service_name}), due {due_date}."
    ),
    names.LICENSE_ISSUED: _("Your e-license {license_name} was issued; it is in your wallet."),
    names.LICENSE_STATUS_CHANGED: _(
        "The issuing department changed the status of your e-license {license_name}: {reason}"
    ),
}
FALLBACK = _("You have a new notification.")

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,39})\}")


def render(kind: str, params: Mapping[str, Any] | None) -> str:
    """The message for ``kind`` with ``params``, in the active language."""
    template = str(TEMPLATES.get(kind, FALLBACK))
    values = params if isinstance(params, Mapping) else {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None or isinstance(value, dict | list):
            return ""
        return _display(name, str(value)[:200])

    text = _PLACEHOLDER.sub(fill, template)
    # A missing reason at the end leaves "...: " behind; drop it.
    return re.sub(r"\s*(\(\)|（）)", "", text).rstrip(" :：")


def _display(name: str, text: str) -> str:
    """``*_date`` parameters given as ISO timestamps show as the local date (2025-06-30)."""
    if not name.endswith("_date"):
        return text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if timezone.is_aware(parsed):
        parsed = timezone.localtime(parsed)
    return parsed.date().isoformat()
