"""The e-license identifier (电子证照标识), GB/T 36904 as used in practice.

Shape, five dot-separated parts after the fixed OID prefix::

    1.2.156.3005.2.{type code}.{issuer code}.{serial}.{version}.{check}

* type code (证照类型代码): the defining authority's 18-character unified social credit code
  (统一社会信用代码, USCC) followed by a 3-digit sequence, 21 characters;
* issuer code (颁发机构代码): the issuing authority's USCC, 18 characters;
* serial (流水号): 1-20 digits; the caller chooses a fixed width and zero-pads;
* version (版本号): 3 digits;
* check (校验位): ISO/IEC 7064 MOD 37,36 (hybrid system, alphabet ``0-9A-Z``) over
  type code + issuer code + serial + version, concatenated without dots.

Pure module: no Django. The USCC check character (GB 32100-2015) is computed here rather than
imported from :mod:`onewindow.kit.validators`, which pulls in Django's translation machinery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "1.2.156.3005.2."

ALPHABET_37_36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MODULUS = 36

# GB 32100-2015: the USCC alphabet (no I, O, S, V, Z) and the weights of characters 1-17.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"[{USCC_ALPHABET}]{{18}}")

_SEQUENCE = re.compile(r"[0-9]{3}")
_SERIAL = re.compile(r"[0-9]{1,20}")
_VERSION = re.compile(r"[0-9]{3}")
_CHECK = re.compile(r"[0-9A-Z]")


class LicenseIdError(ValueError):
    """A malformed e-license identifier (电子证照标识).

    ``reason`` names the first part that is wrong: ``prefix``, ``parts``, ``type_code``,
    ``issuer_code``, ``serial``, ``version`` or ``check``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def mod37_36_check(body: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character (校验位) of ``body``.

    ``body`` is one or more characters of ``0-9A-Z`` (uppercase); anything else raises
    ValueError. Appending the result to ``body`` gives a string whose checksum is 1.
    """
    if not body:
        raise ValueError("MOD 37,36 needs at least one character.")
    product = _MODULUS
    for char in body:
        value = ALPHABET_37_36.find(char)
        if value < 0:
            raise ValueError(f"MOD 37,36 takes only 0-9 and A-Z, not {char!r}.")
        total = (product + value) % _MODULUS or _MODULUS
        product = (total * 2) % (_MODULUS + 1)
    return ALPHABET_37_36[(_MODULUS + 1 - product) % _MODULUS]


def uscc_check_char(first17: str) -> str:
    """The check character (校验码) of a unified social credit code (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_uscc(code: str) -> bool:
    """True if ``code`` has the shape and check character of a unified social credit code
    (统一社会信用代码). Registration authority, organisation type and area code are not
    checked here (see :func:`onewindow.kit.validators.validate_uscc` for that)."""
    return bool(_USCC_SHAPE.fullmatch(code)) and uscc_check_char(code[:17]) == code[17]


@dataclass(frozen=True)
class LicenseIdentifier:
    """A parsed e-license identifier (电子证照标识); ``text`` is its printed form."""

    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str

    @property
    def body(self) -> str:
        """The characters the check character (校验位) is computed over."""
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version}"

    @property
    def text(self) -> str:
        return (
            f"{PREFIX}{self.type_code}.{self.issuer_code}.{self.serial}.{self.version}.{self.check}"
        )


def _validate_parts(type_code: str, issuer_code: str, serial: str, version: str) -> None:
    if not (
        len(type_code) == 21 and is_uscc(type_code[:18]) and _SEQUENCE.fullmatch(type_code[18:])
    ):
        raise LicenseIdError(
            "type_code",
            "The licence type code must be the defining authority's unified social credit "
            "code followed by a 3-digit sequence (21 characters).",
        )
    if not is_uscc(issuer_code):
        raise LicenseIdError(
            "issuer_code", "The issuer code must be a valid unified social credit code."
        )
    if not _SERIAL.fullmatch(serial):
        raise LicenseIdError("serial", "The serial number must be 1 to 20 digits.")
    if not _VERSION.fullmatch(version):
        raise LicenseIdError("version", "The version must be 3 digits.")


def license_identifier(type_code: str, issuer_code: str, serial: str, version: str = "001") -> str:
    """Build the e-license identifier (电子证照标识) text, check character included.

    ``serial`` (流水号) is used as given: zero-pad it to your fixed width before calling.
    Raises :class:`LicenseIdError` if a part has the wrong shape.
    """
    _validate_parts(type_code, issuer_code, serial, version)
    check = mod37_36_check(f"{type_code}{issuer_code}{serial}{version}")
    return LicenseIdentifier(type_code, issuer_code, serial, version, check).text


def parse_license_identifier(text: str) -> LicenseIdentifier:
    """Parse and verify an e-license identifier (电子证照标识).

    Surrounding whitespace is ignored and letters are upper-cased (people retype these from
    paper). Raises :class:`LicenseIdError` whose ``reason`` names the first wrong part.
    """
    text = text.strip().upper()
    if not text.startswith(PREFIX):
        raise LicenseIdError("prefix", f"An e-licence identifier starts with {PREFIX!r}.")
    parts = text[len(PREFIX) :].split(".")
    if len(parts) != 5:
        raise LicenseIdError(
            "parts",
            "An e-licence identifier has five parts after the prefix: type code, issuer code, "
            "serial number, version and check character.",
        )
    type_code, issuer_code, serial, version, check = parts
    _validate_parts(type_code, issuer_code, serial, version)
    if not _CHECK.fullmatch(check):
        raise LicenseIdError("check", "The check character must be one of 0-9 or A-Z.")
    identifier = LicenseIdentifier(type_code, issuer_code, serial, version, check)
    if mod37_36_check(identifier.body) != check:
        raise LicenseIdError("check", "The check character does not match.")
    return identifier
