"""Log in with a username, a citizen ID number or a mobile number (and the password)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from onewindow.identity import crypto
from onewindow.identity.models import CitizenProfile, User
from onewindow.kit import validators


def user_for_identifier(identifier: str) -> User | None:
    """The account a login name refers to: username, then ID number, then mobile."""
    identifier = identifier.strip()
    if not identifier:
        return None
    user = User.objects.filter(username=identifier).first()
    if user is not None:
        return user
    candidate = validators.normalize_id_number(identifier)
    if validators.validate_id_number(candidate, extra_provinces={candidate[:2]}).valid:
        digest = crypto.lookup_hash(candidate, crypto.ID_NUMBER)
        found = CitizenProfile.objects.select_related("user").filter(id_number_hash=digest).first()
        return found.user if found else None
    return user_for_phone(identifier)


def user_for_phone(phone: str) -> User | None:
    """The account whose (encrypted) mobile is ``phone``, found by its keyed look-up hash."""
    try:
        national = validators.normalize_mobile(phone)
    except ValueError:
        return None
    digest = crypto.lookup_hash(national, crypto.PHONE)
    found = CitizenProfile.objects.select_related("user").filter(phone_hash=digest).first()
    return found.user if found else None


class IdentifierBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        user = user_for_identifier(username)
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
