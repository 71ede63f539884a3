"""The API error contract: one envelope, one registry of codes.

Every error the platform returns has the shape
``{"code": "SOME_CODE", "message": "<message>", "details": [...], "request_id": "..."}``; the
message is Simplified Chinese unless the client asked for English (Accept-Language or cookie).
Codes are registered here once; ``docs/api-errors.md`` lists them (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str | Promise


ERROR_CODES: dict[str, ErrorCode] = {}


def register(code: str, status: int, message: str | Promise) -> ErrorCode:
    if code in ERROR_CODES:
        raise ValueError(f"error code {code} registered twice")
    error = ErrorCode(code=code, status=status, message=message)
    ERROR_CODES[code] = error
    return error


MALFORMED_JSON = register("MALFORMED_JSON", 400, _("The request body is not valid JSON."))
BAD_REQUEST = register("BAD_REQUEST", 400, _("The request cannot be processed."))
NOT_AUTHENTICATED = register("NOT_AUTHENTICATED", 401, _("Please log in first."))
PERMISSION_DENIED = register(
    "PERMISSION_DENIED", 403, _("You do not have permission to perform this action.")
)
CSRF_FAILED = register(
    "CSRF_FAILED", 403, _("The form has expired or did not come from this site. Please try again.")
)
NOT_FOUND = register("NOT_FOUND", 404, _("The requested resource does not exist."))
METHOD_NOT_ALLOWED = register(
    "METHOD_NOT_ALLOWED", 405, _("This request method is not allowed for this address.")
)
VALIDATION_FAILED = register("VALIDATION_FAILED", 422, _("Some fields are not valid."))
RATE_LIMITED = register("RATE_LIMITED", 429, _("Too many requests. Please try again later."))
INTERNAL_ERROR = register(
    "INTERNAL_ERROR", 500, _("An internal error occurred. Please quote the request ID.")
)
NOT_READY = register("NOT_READY", 503, _("The service is not ready yet."))


@dataclass
class FieldError:
    """One problem with one input field: ``{"field": ..., "code": ..., "message": ...}``."""

    field: str
    code: str
    message: str | Promise

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": str(self.message)}


@dataclass
class ApiError(Exception):
    """Raised by services and handlers; rendered as the error envelope."""

    error: ErrorCode
    details: list[FieldError] = field(default_factory=list)
    message: str | Promise | None = None

    def __str__(self) -> str:
        return f"{self.error.code}: {self.message or self.error.message}"


def envelope(
    error: ErrorCode,
    *,
    request_id: str,
    details: list[dict[str, Any]] | None = None,
    message: str | Promise | None = None,
) -> dict[str, Any]:
    return {
        "code": error.code,
        "message": str(message or error.message),
        "details": details or [],
        "request_id": request_id,
    }


_BY_STATUS = {
    400: BAD_REQUEST,
    401: NOT_AUTHENTICATED,
    403: PERMISSION_DENIED,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    422: VALIDATION_FAILED,
    429: RATE_LIMITED,
    503: NOT_READY,
}


def for_status(status: int) -> ErrorCode:
    """The generic code for an HTTP status (used when a framework made the error)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return INTERNAL_ERROR if status >= 500 else BAD_REQUEST
