"""Error codes of identity and access (docs/api-errors.md lists them)."""

from django.utils.translation import gettext_lazy as _

from onewindow.kit.errors import register

INVALID_CREDENTIALS = register(
    "INVALID_CREDENTIALS", 401, _("The login name or password is wrong.")
)
ACCOUNT_LOCKED = register(
    "ACCOUNT_LOCKED",
    429,
    _("Too many failed attempts. Logging in is blocked for a while; try again later."),
)
PASSWORD_EXPIRED = register(
    "PASSWORD_EXPIRED", 403, _("Your password has expired. Change it on the website first.")
)
MFA_REQUIRED = register("MFA_REQUIRED", 401, _("Enter the code from your authenticator app."))
MFA_INVALID = register("MFA_INVALID", 401, _("The authenticator code is wrong or has expired."))
MFA_ENROLMENT_REQUIRED = register(
    "MFA_ENROLMENT_REQUIRED",
    403,
    _("Administrators must set up an authenticator app (TOTP) before they can continue."),
)
TOKEN_INVALID = register("TOKEN_INVALID", 401, _("The token is invalid or has expired."))
AGENT_OUT_OF_SCOPE = register(
    "AGENT_OUT_OF_SCOPE",
    403,
    _("Your authorisation from this enterprise does not cover this service, or has expired."),
)
