"""Portal pages. Thin: they read through selectors and render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from onewindow.api.errors import error_response, is_api_request
from onewindow.audit.services import audit_denied
from onewindow.identity.access import public_page
from onewindow.kit import context, errors
from onewindow.org import selectors as org_selectors
from onewindow.portal.preferences import COOKIE_MAX_AGE, COOKIE_NAME, DisplayPreferences


@public_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    from onewindow.catalog import selectors as catalog_selectors

    return render(
        request,
        "portal/home.html",
        {
            "halls": list(org_selectors.hall_list()),
            "departments": list(org_selectors.department_list()),
            "popular": catalog_selectors.high_frequency_items(limit=12),
            "personal_events": catalog_selectors.life_events(audience="natural_person"),
            "business_events": catalog_selectors.life_events(audience="legal_person"),
            "bundles": catalog_selectors.bundle_cards(),
        },
    )


@public_page
@require_GET
def department_list(request: HttpRequest) -> HttpResponse:
    departments = org_selectors.department_list().select_related("parent")
    return render(request, "portal/department_list.html", {"departments": departments})


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


@public_page
@require_POST
def display_preferences(request: HttpRequest) -> HttpResponse:
    """Toggle large text or high contrast, then go back to the page the person was on."""
    current = DisplayPreferences.from_request(request)
    setting = request.POST.get("setting")
    if setting == "large_text":
        current = DisplayPreferences(not current.large_text, current.high_contrast)
    elif setting == "high_contrast":
        current = DisplayPreferences(current.large_text, not current.high_contrast)
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(
        COOKIE_NAME,
        current.cookie_value(),
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def _error_page(request: HttpRequest, error: errors.ErrorCode, template: str) -> HttpResponse:
    if is_api_request(request):
        return error_response(error)
    return render(request, template, {"error": error}, status=error.status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, errors.NOT_FOUND, "errors/404.html")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, errors.PERMISSION_DENIED, "errors/403.html")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, errors.BAD_REQUEST, "errors/400.html")


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return error_response(errors.INTERNAL_ERROR)
    # Rendered without context processors: the failure may be in one of them.
    body = loader.get_template("errors/500.html").render(
        {"error": errors.INTERNAL_ERROR, "request_id": context.current().request_id}
    )
    return HttpResponse(body, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    audit_denied(request=request, reason=f"CSRF: {reason}")
    return _error_page(request, errors.CSRF_FAILED, "errors/403_csrf.html")
