from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicenseConfig(AppConfig):
    name = "onewindow.license"
    label = "license"
    verbose_name = _("E-licenses")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.cache import cache
        from django.db.models.signals import post_delete, post_save

        from onewindow.license import consumers, errors  # noqa: F401  (registers codes, consumers)
        from onewindow.license.models import LicenseType
        from onewindow.license.selectors import TYPES_CACHE_KEY

        def forget_types(**kwargs: object) -> None:
            cache.delete(TYPES_CACHE_KEY)

        post_save.connect(forget_types, sender=LicenseType, dispatch_uid="license-types-cache")
        post_delete.connect(forget_types, sender=LicenseType, dispatch_uid="license-types-cache-d")
