"""Encryption of personal identifiers at rest (SM4-GCM) with HMAC-SM3 look-up hashes."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from onewindow.kit.crypto import Keyring

ID_NUMBER = "citizen.id_number"
PHONE = "citizen.phone"
TOTP_SECRET = "mfa.totp_secret"  # noqa: S105 - a purpose label, not a secret


@cache
def keyring() -> Keyring:
    return Keyring.parse(settings.FIELD_ENCRYPTION_KEYS, settings.LOOKUP_HASH_KEY)


def encrypt(value: str, purpose: str) -> str:
    return keyring().encrypt(value, purpose=purpose)


def decrypt(token: str, purpose: str) -> str:
    return keyring().decrypt(token, purpose=purpose)


def lookup_hash(value: str, purpose: str) -> str:
    return keyring().lookup_hash(value, purpose=purpose)
