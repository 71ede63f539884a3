from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicenseConfig(AppConfig):
    name = "onewindow.license"
    label = "license"
    verbose_name = _("E-licenses")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from onewindow.license import consumers, errors  # noqa: F401  (registers codes, consumers)
