"""Error codes of casework: applications, materials and lifecycle actions (docs/api-errors.md)."""

from django.utils.translation import gettext_lazy as _

from onewindow.kit.errors import register

SERVICE_NOT_AVAILABLE = register(
    "SERVICE_NOT_AVAILABLE", 422, _("This service cannot be applied for online at the moment.")
)
SERVICE_AUDIENCE = register(
    "SERVICE_AUDIENCE",
    422,
    _("This service is not for this kind of applicant (individual or enterprise)."),
)
APPLICATION_NOT_EDITABLE = register(
    "APPLICATION_NOT_EDITABLE", 409, _("This application can no longer be changed.")
)
APPLICATION_VERSION_CONFLICT = register(
    "APPLICATION_VERSION_CONFLICT",
    409,
    _("This application was changed elsewhere. Reload it before saving again."),
)
APPLICATION_INCOMPLETE = register(
    "APPLICATION_INCOMPLETE",
    422,
    _("The application is not complete yet. Every problem is listed in the details."),
)
MATERIAL_UNKNOWN = register(
    "MATERIAL_UNKNOWN", 422, _("This service does not ask for that material.")
)
MATERIAL_TYPE_NOT_ALLOWED = register(
    "MATERIAL_TYPE_NOT_ALLOWED",
    415,
    _("Only PDF, JPG, PNG and OFD files are accepted (recognised by content, not by name)."),
)
MATERIAL_TOO_LARGE = register("MATERIAL_TOO_LARGE", 413, _("The file is larger than allowed."))
MATERIAL_EMPTY = register("MATERIAL_EMPTY", 422, _("The file is empty."))
MATERIAL_INFECTED = register(
    "MATERIAL_INFECTED", 422, _("The file was rejected by the virus scan.")
)
SUPPLEMENT_ALREADY_REQUESTED = register(
    "SUPPLEMENT_ALREADY_REQUESTED",
    409,
    _("A correction was already requested once; everything to correct must be listed at once."),
)
SUPPLEMENT_ITEMS_REQUIRED = register(
    "SUPPLEMENT_ITEMS_REQUIRED", 422, _("List every item the applicant must correct.")
)
EXTENSION_ALREADY_REQUESTED = register(
    "EXTENSION_ALREADY_REQUESTED",
    409,
    _("The time limit of this application was already extended once."),
)
SUSPENSION_REASON_REQUIRED = register(
    "SUSPENSION_REASON_REQUIRED",
    422,
    _("Choose why the clock stops: hearing, testing, appraisal or expert review."),
)
CITIZEN_NOT_REGISTERED = register(
    "CITIZEN_NOT_REGISTERED",
    422,
    _("No citizen with this ID number is registered. Register them (real-name) first."),
)
BUNDLE_PRECHECK_FAILED = register(
    "BUNDLE_PRECHECK_FAILED",
    422,
    _(
        "The pre-check (预审) found matters to settle before this can be submitted. Every one "
        "is listed in the details."
    ),
)
BUNDLE_OUT_OF_DATE = register(
    "BUNDLE_OUT_OF_DATE",
    409,
    _("The parts of this bundle changed since it was set up. Please start a new application."),
)
BUNDLE_PART_NOT_EDITABLE = register(
    "BUNDLE_PART_NOT_EDITABLE",
    409,
    _("This is a part of a bundle (一件事): change and submit the bundle application instead."),
)
BUNDLE_CORRECTION_OUTSIDE_REQUEST = register(
    "BUNDLE_CORRECTION_OUTSIDE_REQUEST",
    422,
    _(
        "Only what the departments asked for can be corrected; the details list the other "
        "changes, which would alter what a department decided on."
    ),
)
