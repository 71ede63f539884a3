"""Registration with real-name data (实名注册)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from onewindow.identity import crypto, services
from onewindow.identity.models import CitizenProfile
from onewindow.kit import validators
from onewindow.org.selectors import platform_province_prefixes


class RealNameSignupForm(forms.Form):
    """Extra fields for allauth's signup form: the name and ID number on the ID card."""

    real_name = forms.CharField(
        label=_("Name"), max_length=64, help_text=_("As on your resident ID card.")
    )
    id_number = forms.CharField(
        label=_("Citizen ID number"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters; the last may be X."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_id_number(self) -> str:
        value = validators.normalize_id_number(self.cleaned_data["id_number"])
        result = validators.validate_id_number(value, extra_provinces=platform_province_prefixes())
        if not result.valid:
            raise ValidationError(str(result.reason), code=result.rule)
        digest = crypto.lookup_hash(value, crypto.ID_NUMBER)
        if CitizenProfile.objects.filter(id_number_hash=digest).exists():
            raise ValidationError(
                _(
                    "An account with this ID number already exists. Log in, or use the "
                    "password reset at a service window."
                ),
                code="duplicate",
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if "phone" in self.fields and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Enter your mobile number: login codes are sent to it."))
        return cleaned

    def signup(self, request: HttpRequest, user: Any) -> None:
        """Called by allauth once the user row exists."""
        from onewindow.identity.models import UserKind

        phone, verified = getattr(user, "_pending_phone", ("", False))
        user.kind = UserKind.CITIZEN
        user.save(update_fields=["kind"])
        services.citizen_profile_set(
            user=user,
            real_name=self.cleaned_data["real_name"],
            id_number=self.cleaned_data["id_number"],
            phone=phone,
            phone_verified=verified,
        )
