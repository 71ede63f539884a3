"""allauth's login and signup forms as OneWindow presents them.

Kept apart from ``forms.py``: allauth imports ``RealNameSignupForm`` while building its own
form classes, so this module (which imports those classes) must not be imported by it.
"""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AllauthLoginForm):
    """allauth's login form, saying which login names work here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["login"]
        field.label = _("Username, citizen ID number or mobile")
        field.widget.attrs["placeholder"] = ""
        field.widget.attrs["autocomplete"] = "username"


class SignupForm(AllauthSignupForm):
    """allauth's signup form (which mixes in RealNameSignupForm), in the order people fill
    it: who they are first, then how they log in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "phone" in self.fields:
            self.fields["phone"].label = _("Mobile number")
            self.fields["phone"].widget.attrs["placeholder"] = ""
        for name in ("username", "password1", "password2"):
            if name in self.fields:
                self.fields[name].widget.attrs["placeholder"] = ""
        first = ["real_name", "id_number", "phone", "username", "password1", "password2"]
        self.order_fields([name for name in first if name in self.fields])
