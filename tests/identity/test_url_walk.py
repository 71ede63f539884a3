"""Every route is either protected or explicitly public (ARCHITECTURE.md: least privilege).

Walks the whole URL tree. A Django view must carry an ``ow_access`` rule (``@page_access`` or
``@public_page``); each django-ninja operation must have ``auth=`` or ``@public_operation``;
third-party routes must be listed, with a reason, in ``identity.access.THIRD_PARTY_ROUTES``.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from onewindow.api.urls import api
from onewindow.identity.access import THIRD_PARTY_ROUTES

# Serving static files and the API's own spec/docs pages.
FRAMEWORK_ROUTES = {"api-v1:openapi-json", "api-v1:openapi-view", "api-v1:api-root"}
API_NAMESPACE = "api-v1:"


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name or ''}"
            yield prefix + str(entry.pattern), name, entry.callback


def third_party_reason(name: str) -> str | None:
    for key, reason in THIRD_PARTY_ROUTES.items():
        if name == key or (key.endswith((":", "_")) and name.startswith(key)):
            return reason
    return None


def classify(route: str, name: str, callback) -> str | None:
    """Why the route is safe, or None when it is neither protected nor declared public."""
    rule = getattr(callback, "ow_access", None)
    if rule is not None:
        return "public" if rule.public else f"protected: {rule}"
    if name in FRAMEWORK_ROUTES:
        return "framework"
    if name.startswith(API_NAMESPACE) and callback.__module__.startswith("ninja"):
        return "api operation: checked per operation below"
    return third_party_reason(name)


def test_every_route_is_protected_or_declared_public():
    undeclared = []
    count = 0
    for route, name, callback in walk(get_resolver().url_patterns):
        count += 1
        if classify(route, name, callback) is None:
            undeclared.append(
                f"{route} (name={name!r}, view={callback.__module__}."
                f"{getattr(callback, '__name__', callback)})"
            )
    assert count > 50  # the walk really covers the tree (admin, allauth, oauth, api, portal)
    assert undeclared == [], "routes with no access declaration:\n" + "\n".join(undeclared)


def test_every_api_operation_declares_auth_or_public():
    undeclared = []
    operations = 0
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                operations += 1
                public = getattr(operation.view_func, "ow_public", False)
                if not operation.auth_callbacks and not public:
                    undeclared.append(f"{operation.methods} {path}")
                if operation.auth_callbacks and public:
                    undeclared.append(f"{operation.methods} {path}: both public and protected")
    assert operations > 15
    assert undeclared == []


def test_the_walk_catches_an_undeclared_view():
    """The check itself must fail on a route nobody declared."""
    from django.http import HttpResponse
    from django.urls import path

    def naked(request):
        return HttpResponse("x")

    route, name, callback = next(walk([path("naked/", naked, name="naked")]))
    assert classify(route, name, callback) is None
