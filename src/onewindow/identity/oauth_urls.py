"""The OAuth 2 / OpenID Connect endpoints OneWindow publishes under /o/.

Only the protocol endpoints: clients are registered by the security admin in the admin console,
so django-oauth-toolkit's self-service application pages, dynamic client registration and the
device flow and token introspection (any client could learn whose token it holds) are
deliberately not mounted (tests/identity/test_url_walk.py keeps it that way).
"""

from django.urls import path
from oauth2_provider import views
from oauth2_provider.urls import metadata_urlpatterns, oidc_urlpatterns

app_name = "oauth2_provider"

urlpatterns = [
    *metadata_urlpatterns,
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    *oidc_urlpatterns,
]
