"""django-allauth adapters: phone numbers live encrypted in ``CitizenProfile``; TOTP secrets are
SM4-encrypted; verification codes go out through the SMS gateway plugin."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField
from allauth.mfa.adapter import DefaultMFAAdapter
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onewindow.identity import crypto, services, sms
from onewindow.identity.models import CitizenProfile, User
from onewindow.kit import validators


def _e164(national: str) -> str:
    return "+86" + national


def looks_like_identifier(value: str) -> bool:
    compact = value.replace(" ", "").replace("-", "")
    if len(compact) == 18 and compact[:17].isdigit():
        return True
    try:
        validators.normalize_mobile(compact)
    except ValueError:
        return False
    return True


class MobileField(PhoneField):
    """Accepts 13812345678 or +86 138 1234 5678."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["validators"] = []
        kwargs.setdefault("label", gettext_lazy("Mobile number"))
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Any:
        value = forms.CharField.clean(self, value)
        if not value:
            return value
        try:
            return _e164(validators.normalize_mobile(value))
        except ValueError:
            raise ValidationError(
                _("Enter an 11-digit mainland mobile number."), code="invalid_phone"
            ) from None


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        """A username may not look like a mobile or an ID number: people log in with those
        too, and a username shaped like someone else's number would capture their logins."""
        username = super().clean_username(username, shallow=shallow)
        if looks_like_identifier(username):
            raise ValidationError(
                _("A username cannot be a mobile number or an ID number; choose another.")
            )
        return username

    def get_client_ip(self, request: Any) -> str:
        """allauth's rate limits count per client, behind trusted proxies too."""
        from onewindow.kit import context

        return context.current().ip or super().get_client_ip(request)

    def phone_form_field(self, **kwargs: Any) -> Any:
        return MobileField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        try:
            return _e164(validators.normalize_mobile(phone))
        except ValueError:
            raise ValidationError(_("Enter an 11-digit mainland mobile number.")) from None

    def send_verification_code_sms(self, user: Any, phone: str, code: str, **kwargs: Any) -> None:
        sms.gateway().send(
            phone=phone,
            text=_("[OneWindow] Your verification code is %(code)s. Do not share it.")
            % {"code": code},
        )

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        sms.gateway().send(
            phone=phone, text=_("[OneWindow] No account uses this number. Register first.")
        )

    def set_phone(self, user: Any, phone: str, verified: bool) -> None:
        if hasattr(user, "citizen"):
            services.citizen_phone_set(user=user, phone=phone, verified=verified)
        else:
            # During signup the profile is created right after (RealNameSignupForm.signup);
            # keep the number until then.
            user._pending_phone = (phone, verified)

    def get_phone(self, user: Any) -> tuple[str, bool] | None:
        pending = getattr(user, "_pending_phone", None)
        if pending:
            return pending
        profile = CitizenProfile.objects.filter(user=user).first()
        if profile is None or not profile.phone_encrypted:
            return None
        national = crypto.decrypt(profile.phone_encrypted, crypto.PHONE)
        return _e164(national), profile.phone_verified

    def set_phone_verified(self, user: Any, phone: str) -> None:
        CitizenProfile.objects.filter(user=user).update(phone_verified=True)

    def get_user_by_phone(self, phone: str) -> User | None:
        from onewindow.identity.backends import user_for_phone

        return user_for_phone(phone)


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are stored SM4-encrypted (allauth stores them in clear by default)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text, crypto.TOTP_SECRET)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text, crypto.TOTP_SECRET)
