from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "onewindow.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from onewindow.notify import consumers  # noqa: F401  (registers the outbox consumer)
