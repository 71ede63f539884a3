"""Project-wide middleware: request context and logging, language, API error envelope."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from onewindow.api.errors import error_response, is_api_request
from onewindow.audit.services import audit_denied
from onewindow.kit import context, errors
from onewindow.kit.masking import mask_identifiers_in_text

logger = logging.getLogger("onewindow.request")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestContextMiddleware:
    """Gives every request an id (kept from X-Request-ID when well-formed), logs it once.

    The logged path has ID numbers and mobile numbers masked: some public routes (the
    validators) carry them in the URL, and logs must not hold personal data in clear.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.trusted = frozenset(settings.TRUSTED_PROXIES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = context.new_request_id(request.headers.get("X-Request-ID"))
        ip = context.client_ip(
            request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"), self.trusted
        )
        token = context.set_current(context.RequestContext(request_id=request_id, ip=ip))
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": mask_identifiers_in_text(request.path),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            context.reset(token)


class LanguageMiddleware:
    """Simplified Chinese unless the person chose English (language cookie).

    API clients may also ask with Accept-Language; pages ignore the browser's header so that a
    kiosk or a borrowed phone set to English still shows the platform in Chinese by default.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = is_api_request(request)
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
            if api and "HTTP_ACCEPT_LANGUAGE" in request.META:
                language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Accept-Language", "Cookie") if api else ("Cookie",))
        translation.deactivate()
        return response


class ApiErrorEnvelopeMiddleware:
    """Under /api/, turn any error the framework made (405, a CSRF 403, ...) into the envelope."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 400 and is_api_request(request) and not _is_envelope(response):
            enveloped = error_response(
                errors.for_status(response.status_code), status=response.status_code
            )
            if "Allow" in response:
                enveloped["Allow"] = response["Allow"]
            return enveloped
        return response


def _is_envelope(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, AttributeError):
        return False
    return isinstance(body, dict) and {"code", "message", "request_id"} <= body.keys()


class PermissionDeniedAuditMiddleware:
    """Audit every PermissionDenied raised by a page or the admin (APIs audit in their handler)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            audit_denied(request=request, reason=str(exception))
