"""Error codes of the workflow: work items and process definitions (docs/api-errors.md)."""

from django.utils.translation import gettext_lazy as _

from onewindow.kit.errors import register

TASK_VERSION_CONFLICT = register(
    "TASK_VERSION_CONFLICT",
    409,
    _("Someone else changed this task first. Reload it to see what was done."),
)
TASK_NOT_OPEN = register(
    "TASK_NOT_OPEN", 409, _("This task is no longer open: it was completed, paused or cancelled.")
)
TASK_ACTION_INVALID = register(
    "TASK_ACTION_INVALID", 422, _("This action is not available on this task.")
)
TASK_CLAIMED_BY_OTHER = register(
    "TASK_CLAIMED_BY_OTHER", 409, _("Another colleague has claimed this task.")
)
OPINION_REQUIRED = register("OPINION_REQUIRED", 422, _("Please give your opinion or reason."))
PROCESS_DEFINITION_INVALID = register(
    "PROCESS_DEFINITION_INVALID", 422, _("The process definition is not valid.")
)
