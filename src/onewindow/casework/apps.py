from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "onewindow.casework"
    label = "casework"
    verbose_name = _("Casework (办件)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from onewindow.casework import (  # noqa: F401  (error codes, the outbox consumer)
            consumers,
            errors,
        )
