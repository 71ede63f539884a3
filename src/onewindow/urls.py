from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from oauth2_provider.views import ConnectDiscoveryInfoView

from onewindow import health
from onewindow.api.urls import api
from onewindow.identity.access import public_page
from onewindow.portal import views as portal_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("onewindow.identity.urls")),
    path("accounts/", include("allauth.urls")),
    path("o/", include("onewindow.identity.oauth_urls", namespace="oauth2_provider")),
    # OpenID Connect discovery at the root, as relying parties expect it.
    path(
        ".well-known/openid-configuration",
        public_page(ConnectDiscoveryInfoView.as_view()),
        name="oidc-discovery",
    ),
    path("services/", include("onewindow.catalog.urls")),
    path("notifications/", include("onewindow.notify.urls")),
    path("me/data/", include("onewindow.datahub.urls")),
    path("datahub/", include("onewindow.datahub.staff_urls")),
    path("", include("onewindow.license.urls")),
    path("", include("onewindow.casework.urls")),
    path("", include("onewindow.portal.urls")),
]

handler400 = portal_views.bad_request
handler403 = portal_views.permission_denied
handler404 = portal_views.page_not_found
handler500 = portal_views.server_error
