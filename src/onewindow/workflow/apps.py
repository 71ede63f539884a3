from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "onewindow.workflow"
    label = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        from onewindow.workflow import (
            checks,  # noqa: F401  (registers the calendar check)
            errors,  # noqa: F401  (registers the error codes)
        )
