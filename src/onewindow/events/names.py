"""The events the platform emits (事件名), and nothing else.

``events.services.emit`` refuses a name that is not listed here, and so does the consumer
registry: a typo is a programming error found at once, not an event nobody ever receives. Add a
name here (with its docstring: who emits it, what the payload carries) before emitting it.

Every payload that should reach people carries ``recipients`` (a list of user ids) or
``audience`` (``{"department_id": N, "role": R}``, resolved by the consumer) and display
parameters (``number``, ``service_name``, ``reason``, ``due_date``, ``link``); see
``onewindow.notify.consumers``. Payloads are stored in clear and shown to the system
administrator in the console: never put personal identifiers (ID numbers, mobiles) in them;
send ids and let consumers look the rest up.
"""

from __future__ import annotations

APPLICATION_SUBMITTED = "application.submitted"
"""An applicant submitted an application (办件提交). Recipients: the applicant."""

APPLICATION_ACCEPTED = "application.accepted"
"""The department accepted the application (受理)."""

APPLICATION_NOT_ACCEPTED = "application.not_accepted"
"""The department did not accept the application (不予受理); ``reason`` says why."""

APPLICATION_SUPPLEMENT_REQUESTED = "application.supplement_requested"
"""The department asks for missing or corrected materials (补正告知); ``reason`` lists them."""

APPLICATION_SUPPLEMENT_RETURNED = "application.supplement_returned"
"""The applicant handed in the supplemented materials (补正提交)."""

APPLICATION_SUSPENDED = "application.suspended"
"""The clock stopped (挂起, e.g. for an expert review or a hearing); ``reason`` says why."""

APPLICATION_RESUMED = "application.resumed"
"""The clock runs again (恢复)."""

APPLICATION_EXTENDED = "application.extended"
"""The time limit was extended (延期); ``due_date`` is the new deadline."""

APPLICATION_APPROVED = "application.approved"
"""The application was approved (准予许可)."""

APPLICATION_REJECTED = "application.rejected"
"""The application was rejected (不予许可); ``reason`` says why."""

APPLICATION_COMPLETED = "application.completed"
"""The matter is finished (办结): results issued or handed over."""

TASK_ASSIGNED = "task.assigned"
"""A work item (待办) was assigned to staff. Recipients: the assignees; ``due_date``."""

TASK_OVERDUE = "task.overdue"
"""A work item passed its due date (超期). Recipients: the assignees."""

TASK_ESCALATED = "task.escalated"
"""An overdue work item was escalated (督办) to the department head. Recipients: the heads."""

LICENSE_ISSUED = "license.issued"
"""An e-license was issued (电子证照签发). Recipients: the holder (person, or the enterprise's
legal representative); ``license_name``, ``number`` (the application), ``link``."""

LICENSE_STATUS_CHANGED = "license.status_changed"
"""An e-license was suspended, restored, revoked or cancelled; ``status`` and ``reason``."""

EVENT_NAMES: frozenset[str] = frozenset(
    value
    for key, value in dict(globals()).items()
    if key.isupper() and isinstance(value, str) and "." in value
)
"""Every known event name."""


class UnknownEventError(ValueError):
    """An event name that is not in ``EVENT_NAMES`` (a programming error)."""


def check(name: str) -> str:
    """``name`` if it is a known event name; raises ``UnknownEventError`` otherwise."""
    if name not in EVENT_NAMES:
        raise UnknownEventError(
            f"unknown event name {name!r}: add it to onewindow/events/names.py first"
        )
    return name
