"""Error codes of the data hub: the exchange API, agreements and consent (docs/api-errors.md)."""

from django.utils.translation import gettext_lazy as _

from onewindow.kit.errors import register

DATA_CONSUMER_UNKNOWN = register(
    "DATA_CONSUMER_UNKNOWN",
    403,
    _(
        "This client is not registered as a department's system with the datahub scope, "
        "so it cannot read shared data."
    ),
)
DATA_CONTEXT_REQUIRED = register(
    "DATA_CONTEXT_REQUIRED",
    422,
    _("Say which application and for what purpose: X-Case-Number and X-Purpose are required."),
)
DATA_NOT_SHARED = register(
    "DATA_NOT_SHARED", 403, _("This dataset is not shared with other departments.")
)
DATA_AGREEMENT_REQUIRED = register(
    "DATA_AGREEMENT_REQUIRED",
    403,
    _("Your department has no sharing agreement in force for this dataset."),
)
DATA_FIELDS_NOT_AGREED = register(
    "DATA_FIELDS_NOT_AGREED",
    403,
    _("Some requested fields are not covered by your department's sharing agreement."),
)
DATA_CONSENT_REQUIRED = register(
    "DATA_CONSENT_REQUIRED",
    403,
    _("The person or enterprise has not consented to your department reading this data."),
)
DATA_STEWARD_REQUIRED = register(
    "DATA_STEWARD_REQUIRED",
    403,
    _("Only a data steward of the department concerned can do this."),
)
DATA_AGREEMENT_NOT_PENDING = register(
    "DATA_AGREEMENT_NOT_PENDING", 409, _("This sharing agreement was already decided.")
)
DATA_CONSENT_NOT_APPLICABLE = register(
    "DATA_CONSENT_NOT_APPLICABLE",
    422,
    _("This dataset is not read on the basis of consent, or not about you."),
)
