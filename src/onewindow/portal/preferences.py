"""Display preferences (large text, high contrast), kept in a cookie so they work without
JavaScript and without an account, and persist across pages and visits."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

COOKIE_NAME = "ow_display"
COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class DisplayPreferences:
    large_text: bool = False
    high_contrast: bool = False

    @classmethod
    def from_request(cls, request: HttpRequest) -> DisplayPreferences:
        flags = set(request.COOKIES.get(COOKIE_NAME, "").split("."))
        return cls(large_text="large" in flags, high_contrast="contrast" in flags)

    def cookie_value(self) -> str:
        flags = (("large", self.large_text), ("contrast", self.high_contrast))
        return ".".join(flag for flag, on in flags if on)

    def css_classes(self) -> str:
        classes = []
        if self.large_text:
            classes.append("ow-large-text")
        if self.high_contrast:
            classes.append("ow-high-contrast")
        return " ".join(classes)
