"""The OpenID Connect provider's policy: which client may get which scope, and the claims.

Claims by scope: ``profile`` -> name, username, masked ID number; ``phone`` -> the mobile;
``id_number`` -> the ID number in full, and only for a client whose policy allows that scope.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from onewindow.identity import crypto
from onewindow.identity.models import CitizenProfile, ClientPolicy
from onewindow.kit.masking import mask_id_number


def _profile(request: Any) -> CitizenProfile | None:
    if not hasattr(request, "_ow_profile"):
        request._ow_profile = CitizenProfile.objects.filter(user=request.user).first()
    profile: CitizenProfile | None = request._ow_profile
    return profile


def _name(request: Any) -> str:
    profile = _profile(request)
    return profile.real_name if profile else str(request.user.display_name)


def _phone_verified(request: Any) -> bool:
    profile = _profile(request)
    return bool(profile and profile.phone_verified)


def _id_number(request: Any) -> str | None:
    profile = _profile(request)
    return crypto.decrypt(profile.id_number_encrypted, crypto.ID_NUMBER) if profile else None


def _disclosed_id_number(request: Any) -> str | None:
    """The full ID number for a client granted the ``id_number`` scope; each disclosure is
    audited with the client and the person."""
    from onewindow.audit.services import audit_record

    if getattr(request, "_ow_building_id_token", False):
        return None
    value = _id_number(request)
    if value is not None:
        client = getattr(request, "client", None)
        audit_record(
            actor=f"client:{getattr(client, 'client_id', '?')}",
            action="personal_data.disclose",
            object_type="identity.user",
            object_id=request.user.pk,
            object_repr=request.user.get_username(),
            detail={"claim": "id_number"},
        )
    return value


def _phone(request: Any) -> str | None:
    profile = _profile(request)
    if profile is None or not profile.phone_encrypted:
        return None
    return "+86" + crypto.decrypt(profile.phone_encrypted, crypto.PHONE)


class OneWindowValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "user_kind": "profile",
        "id_number_masked": "profile",
        "id_number": "id_number",
    }

    def get_additional_claims(self) -> dict[str, Any]:
        # Request-agnostic form: each claim is computed only if its scope was granted.
        return {
            "name": _name,
            "preferred_username": lambda r: r.user.get_username(),
            "user_kind": lambda r: r.user.kind,
            "id_number_masked": lambda r: mask_id_number(_id_number(r) or "") or None,
            "phone_number": _phone,
            "phone_number_verified": _phone_verified,
            "id_number": _disclosed_id_number,
        }

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> Any:
        """The full ID number goes to userinfo only, never into the ID token: ID tokens travel
        through browsers and end up in logs."""
        request._ow_building_id_token = True  # the claim is dropped below: no disclosure
        try:
            claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        finally:
            request._ow_building_id_token = False
        claims.pop("id_number", None)
        return claims, expiration

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """First-party tokens are refreshed by /api/v1/auth/refresh only (lockout, audit)."""
        from onewindow.identity.services import FIRST_PARTY_CLIENT_ID

        if client is not None and client.client_id == FIRST_PARTY_CLIENT_ID:
            return False
        return bool(super().validate_refresh_token(refresh_token, client, request, *args, **kwargs))

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kw: Any
    ) -> bool:
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kw):
            return False
        policy = ClientPolicy.objects.filter(application=client).first()
        return policy is not None and set(scopes) <= policy.scopes()


def install_root_issuer() -> None:
    """Make the OpenID issuer the site root when ONEWINDOW_OIDC_ISSUER is not set.

    django-oauth-toolkit derives the issuer from where its own discovery view is mounted
    (``/o``), but OneWindow publishes discovery at the root, and OpenID Connect Discovery
    requires the document's issuer to be the URL it was fetched under. This replaces only that
    derivation; a configured issuer is used verbatim as before.
    """
    from django.http import HttpRequest
    from oauth2_provider.settings import oauth2_settings

    derive = oauth2_settings.oidc_issuer

    def oidc_issuer(request: Any) -> str:
        if oauth2_settings.OIDC_ISS_ENDPOINT:
            return str(oauth2_settings.OIDC_ISS_ENDPOINT)
        if isinstance(request, HttpRequest):
            return request.build_absolute_uri("/").rstrip("/")
        # An oauthlib request: derive as the toolkit does, then drop its "/o" mount point.
        issuer = str(derive(request))
        return issuer[: -len("/o")] if issuer.endswith("/o") else issuer

    oauth2_settings.oidc_issuer = oidc_issuer
