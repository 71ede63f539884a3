"""Render every API error as the one envelope, whoever raised it (ninja, Django or us)."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from onewindow.kit import context, errors

logger = logging.getLogger("onewindow.api")

API_PREFIX = "/api/"

# Chinese messages for the pydantic error types people actually meet.
_FIELD_MESSAGES: dict[str, Promise] = {
    "missing": _("This field is required."),
    "string_type": _("Enter text."),
    "string_too_short": _("This value is too short."),
    "string_too_long": _("This value is too long."),
    "string_pattern_mismatch": _("This value is not in the required format."),
    "int_type": _("Enter a whole number."),
    "int_parsing": _("Enter a whole number."),
    "float_parsing": _("Enter a number."),
    "bool_parsing": _("Enter true or false."),
    "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
    "date_parsing": _("Enter a date as YYYY-MM-DD."),
    "datetime_parsing": _("Enter a date and time."),
    "literal_error": _("Choose one of the allowed values."),
    "enum": _("Choose one of the allowed values."),
    "list_type": _("Enter a list."),
    "too_long": _("Too many items."),
    "too_short": _("Too few items."),
    "model_attributes_type": _("Enter an object."),
    "dict_type": _("Enter an object."),
}
_LOCATION_ROOTS = {"body", "query", "path", "header", "cookie", "form", "file", "payload"}


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(
    error: errors.ErrorCode,
    *,
    details: list[dict[str, Any]] | None = None,
    message: str | Promise | None = None,
    status: int | None = None,
) -> JsonResponse:
    body = errors.envelope(
        error, request_id=context.current().request_id, details=details, message=message
    )
    return JsonResponse(
        body, status=status or error.status, json_dumps_params={"ensure_ascii": False}
    )


def _field_details(exc: NinjaValidationError) -> list[dict[str, Any]]:
    details = []
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", ())]
        while loc and loc[0] in _LOCATION_ROOTS:
            loc = loc[1:]
        kind = str(item.get("type", "invalid"))
        message = _FIELD_MESSAGES.get(kind, _("This value is not valid."))
        details.append({"field": ".".join(loc), "code": kind, "message": str(message)})
    return details


def install_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(errors.ApiError)
    def _api_error(request: HttpRequest, exc: errors.ApiError) -> JsonResponse:
        return error_response(
            exc.error, details=[d.as_dict() for d in exc.details], message=exc.message
        )

    @api.exception_handler(NinjaValidationError)
    def _validation(request: HttpRequest, exc: NinjaValidationError) -> JsonResponse:
        return error_response(errors.VALIDATION_FAILED, details=_field_details(exc))

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> JsonResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | json.JSONDecodeError):
            return error_response(errors.MALFORMED_JSON)
        if exc.status_code == 403:
            _audit_denied(request, reason=str(exc))
        return error_response(errors.for_status(exc.status_code), status=exc.status_code)

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> JsonResponse:
        return error_response(errors.NOT_FOUND)

    @api.exception_handler(PermissionDenied)
    def _denied(request: HttpRequest, exc: PermissionDenied) -> JsonResponse:
        _audit_denied(request, reason=str(exc))
        return error_response(errors.PERMISSION_DENIED)

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> JsonResponse:
        logger.exception("unhandled error in API", extra={"path": request.path})
        return error_response(errors.INTERNAL_ERROR)


def _audit_denied(request: HttpRequest, *, reason: str) -> None:
    from onewindow.audit.services import audit_denied

    audit_denied(request=request, reason=reason)
