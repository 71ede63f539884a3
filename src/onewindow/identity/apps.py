from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "onewindow.identity"
    label = "identity"
    verbose_name = _("Identity and access")

    def ready(self) -> None:
        from onewindow.identity import checks, errors, receivers  # noqa: F401  (registers them)
        from onewindow.identity.oidc import install_root_issuer

        install_root_issuer()


class OneWindowAdminConfig(AdminConfig):
    """The Django admin, served by a site that admits only TOTP-verified admin roles."""

    default_site = "onewindow.identity.admin_site.OneWindowAdminSite"
