"""Signing keys of departments and of the platform: create, rotate, use.

Each key row holds an SM2 key pair (GmSSL through gmssl-pyx) for signatures over license data
and submissions, and an EC P-256 key with a self-signed X.509 certificate for the PDF signature
(pyHanko cannot sign with SM2). Private halves are SM4-encrypted under the platform keyring
(purposes ``license.sm2`` and ``license.pdf_key``). Creating a key retires the department's
previous one; a retired key still verifies what it signed, it just signs nothing new.
"""

from __future__ import annotations

import time
from datetime import datetime

import gmssl_pyx
from django.db import IntegrityError, transaction
from django.utils import timezone

from onewindow.audit.services import audit_record
from onewindow.identity import crypto
from onewindow.kit.crypto import sm3_hex
from onewindow.kit.errors import ApiError
from onewindow.license import errors, pdf
from onewindow.license.models import SigningKey
from onewindow.org.models import Department

SM2_PURPOSE = "license.sm2"
PDF_KEY_PURPOSE = "license.pdf_key"
PLATFORM_NAME = "一网通办平台"


def _key_id(department: Department | None, now: datetime) -> str:
    owner = department.code if department is not None else "platform"
    return f"{owner}-{now:%Y%m%d%H%M%S%f}"


@transaction.atomic
def key_create(*, department: Department | None, actor: str) -> SigningKey:
    """A new key for ``department`` (None: the platform); the previous one is retired."""
    now = timezone.now()
    SigningKey.objects.filter(department=department, retired_at__isnull=True).update(retired_at=now)
    public, private = gmssl_pyx.sm2_key_generate()
    name = department.name if department is not None else PLATFORM_NAME
    uscc = department.uscc if department is not None else ""
    key_pem, cert_pem = pdf.new_signing_certificate(
        common_name=f"{name} 电子证照签章", organisation=name, uscc=uscc
    )
    key = SigningKey.objects.create(
        key_id=_key_id(department, now),
        department=department,
        sm2_public=public.hex(),
        sm2_private_encrypted=crypto.encrypt(private.hex(), SM2_PURPOSE),
        pdf_certificate=cert_pem.decode(),
        pdf_key_encrypted=crypto.encrypt(key_pem.decode(), PDF_KEY_PURPOSE),
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="license.key.create",
        object_type="license.signing_key",
        object_id=key.key_id,
        object_repr=name,
        detail={"sm2_public": key.sm2_public},
    )
    return key


def active_key(department: Department | None) -> SigningKey:
    """The key that signs now; ``LICENSE_KEY_MISSING`` if the department has none."""
    key = SigningKey.objects.filter(department=department, retired_at__isnull=True).first()
    if key is None:
        raise ApiError(errors.LICENSE_KEY_MISSING)
    return key


_PLATFORM_KEY_SECONDS = 60.0
_platform: tuple[float, SigningKey] | None = None


def platform_key() -> SigningKey:
    """The platform's key (it seals what applicants submit), read at most once a minute per
    process; created on first use. A key rotated meanwhile still verifies what it signed."""
    global _platform
    now = time.monotonic()
    if _platform is not None and now - _platform[0] < _PLATFORM_KEY_SECONDS:
        return _platform[1]
    key = SigningKey.objects.filter(department=None, retired_at__isnull=True).first()
    if key is None:
        try:
            with transaction.atomic():
                key = key_create(department=None, actor="system")
        except IntegrityError:  # created at the same moment by another process
            key = SigningKey.objects.get(department=None, retired_at__isnull=True)
    _platform = (now, key)
    return key


def forget_platform_key() -> None:
    """Drop the cached platform key (tests, and after a rotation in this process)."""
    global _platform
    _platform = None


def key_by_id(key_id: str) -> SigningKey | None:
    return SigningKey.objects.filter(key_id=key_id).first()


# GB/T 32918 curve parameters that enter Z_A (the signer's identity hash).
_SM2_A = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC")
_SM2_B = bytes.fromhex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
_SM2_GX = bytes.fromhex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
_SM2_GY = bytes.fromhex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")


def sm2_message_digest(public: bytes, data: bytes) -> bytes:
    """e = SM3(Z_A || M), Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) with the
    default signer id (GB/T 32918.2 and GM/T 0009). GmSSL's ``sm2_sign`` computes the same but
    takes about 2.7 ms here; signing this digest takes about 0.25 ms. The tests check both
    ways verify each other's signatures."""
    ident = bytes(gmssl_pyx.SM2_DEFAULT_SIGNER_ID)
    z = sm3_hex(
        (len(ident) * 8).to_bytes(2, "big") + ident + _SM2_A + _SM2_B + _SM2_GX + _SM2_GY + public
    )
    return bytes.fromhex(sm3_hex(bytes.fromhex(z) + data))


def sm2_sign(key: SigningKey, data: bytes) -> str:
    """SM2 signature (SM3 with the default signer id) of ``data``, as hex DER."""
    private = bytes.fromhex(crypto.decrypt(key.sm2_private_encrypted, SM2_PURPOSE))
    digest = sm2_message_digest(bytes.fromhex(key.sm2_public), data)
    signature: bytes = gmssl_pyx.sm2_sign_sm3_digest(private, digest)
    return signature.hex()


def sm2_verify(key: SigningKey, data: bytes, signature_hex: str) -> bool:
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    try:
        return bool(gmssl_pyx.sm2_verify(bytes.fromhex(key.sm2_public), data, signature))
    except (gmssl_pyx.InvalidValueError, gmssl_pyx.GmsslInnerError):
        return False


def pdf_signer(key: SigningKey) -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM) for signing a PDF with ``key``."""
    key_pem = crypto.decrypt(key.pdf_key_encrypted, PDF_KEY_PURPOSE).encode()
    return key_pem, key.pdf_certificate.encode()


def ensure_keys(departments: list[Department], *, actor: str) -> int:
    """A key for each department that has none (the demo seed and first start use it)."""
    have = set(
        SigningKey.objects.filter(retired_at__isnull=True, department__in=departments).values_list(
            "department_id", flat=True
        )
    )
    created = 0
    for department in departments:
        if department.pk not in have:
            key_create(department=department, actor=actor)
            created += 1
    return created


__all__ = [
    "active_key",
    "ensure_keys",
    "key_create",
    "pdf_signer",
    "platform_key",
    "sm2_sign",
    "sm2_verify",
]
