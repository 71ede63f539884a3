"""Password rules of 等保 2.0 level 3 (DOMAIN.md): character classes, history, staff expiry."""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


def character_classes(password: str) -> int:
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c == " " for c in password),
        )
    )


class CharacterClassValidator:
    """At least ``min_classes`` of: lower case, upper case, digits, symbols."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                _(
                    "The password must mix at least %(n)d of: lower-case letters, upper-case "
                    "letters, digits and symbols."
                )
                % {"n": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _(
            "Use at least %(n)d of: lower-case letters, upper-case letters, digits and symbols."
        ) % {"n": self.min_classes}


class HistoryValidator:
    """The new password may not equal any of the last ``count`` ones; records each change."""

    def __init__(self, count: int = 5) -> None:
        self.count = count

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None:
            return
        from onewindow.identity.models import PasswordHistory

        recent = PasswordHistory.objects.filter(user=user)[: self.count]
        if any(check_password(password, entry.password) for entry in recent):
            raise ValidationError(
                _("The password must differ from your last %(n)d passwords.") % {"n": self.count},
                code="password_reused",
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        """Called by Django after a password change is saved."""
        if user is None or user.pk is None:
            return
        from onewindow.identity.models import PasswordHistory, User

        PasswordHistory.objects.create(user=user, password=user.password)
        keep = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[: self.count]
        PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep)).delete()
        User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now())
        from onewindow.identity.access import forget_person_tokens

        forget_person_tokens(user.pk)

    def get_help_text(self) -> str:
        return _("It must differ from your last %(n)d passwords.") % {"n": self.count}


def password_expired(user: Any, *, now: dt.datetime | None = None) -> bool:
    """Staff passwords expire after STAFF_PASSWORD_MAX_AGE_DAYS (citizens' do not)."""
    if getattr(user, "kind", None) != "staff":
        return False
    changed = user.password_changed_at
    if changed is None:
        return True  # never set by the person themselves: must choose one
    age = (now or timezone.now()) - changed
    return age > dt.timedelta(days=settings.STAFF_PASSWORD_MAX_AGE_DAYS)
