"""Error codes of e-licenses (docs/api-errors.md)."""

from django.utils.translation import gettext_lazy as _

from onewindow.kit.errors import register

LICENSE_NOT_FOUND = register("LICENSE_NOT_FOUND", 404, _("No such e-license."))
LICENSE_KEY_MISSING = register(
    "LICENSE_KEY_MISSING",
    409,
    _(
        "The issuing department has no signing key yet: create one with "
        "'onewindow manage license_keys DEPARTMENT'."
    ),
)
LICENSE_NOT_ISSUER = register(
    "LICENSE_NOT_ISSUER",
    403,
    _("Only the issuing department's approvers or head may change this license."),
)
LICENSE_STATUS_CHANGE = register(
    "LICENSE_STATUS_CHANGE",
    409,
    _("This change is not possible from the license's current status."),
)
LICENSE_REASON_REQUIRED = register(
    "LICENSE_REASON_REQUIRED", 422, _("Give the reason: the holder and every verifier see it.")
)
LICENSE_PDF_INVALID = register(
    "LICENSE_PDF_INVALID", 422, _("Upload the license PDF file (at most 5 MB).")
)
