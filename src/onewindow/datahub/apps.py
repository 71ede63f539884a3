from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatahubConfig(AppConfig):
    name = "onewindow.datahub"
    label = "datahub"
    verbose_name = _("Data hub")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from onewindow.datahub import errors  # noqa: F401  (registers the error codes)
