"""Signing keys: SM2 signatures interoperate with GmSSL's standard ones; rotation; storage."""

from __future__ import annotations

import gmssl_pyx
import pytest

from onewindow.license import keys
from onewindow.license.models import SigningKey

pytestmark = pytest.mark.django_db


def test_our_sm2_signatures_are_standard_ones(demo_city):
    key = keys.platform_key()
    public = bytes.fromhex(key.sm2_public)
    for data in (b"", b"x", "申请材料".encode() * 200):
        ours = bytes.fromhex(keys.sm2_sign(key, data))
        assert gmssl_pyx.sm2_verify(public, data, ours)  # GmSSL's own SM2 verify with Z_A
        assert keys.sm2_verify(key, data, ours.hex())
        assert not keys.sm2_verify(key, data + b"!", ours.hex())
    from onewindow.identity import crypto

    private = bytes.fromhex(crypto.decrypt(key.sm2_private_encrypted, keys.SM2_PURPOSE))
    theirs = gmssl_pyx.sm2_sign(private, public, b"standard")
    assert keys.sm2_verify(key, b"standard", theirs.hex())
    assert keys.sm2_message_digest(public, b"standard") != keys.sm2_message_digest(
        public, b"standarD"
    )
    assert not keys.sm2_verify(key, b"standard", "zz")  # not hex: a clear False


def test_private_halves_are_encrypted_and_one_key_is_active(demo_city):
    from onewindow.org.models import Department

    market = Department.objects.get(code="market")
    first = keys.active_key(market)
    assert "PRIVATE KEY" not in first.pdf_key_encrypted
    assert first.sm2_private_encrypted.startswith("sm4gcm:")
    second = keys.key_create(department=market, actor="test")
    assert keys.active_key(market) == second
    assert SigningKey.objects.filter(department=market).count() == 2
    key_pem, cert_pem = keys.pdf_signer(second)
    assert b"PRIVATE KEY" in key_pem
    assert b"CERTIFICATE" in cert_pem


def test_only_one_platform_key_can_be_active(demo_city):
    from django.db import IntegrityError, transaction

    key = keys.platform_key()
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(
            key_id="platform-duplicate",
            department=None,
            sm2_public=key.sm2_public,
            sm2_private_encrypted=key.sm2_private_encrypted,
            pdf_certificate=key.pdf_certificate,
            pdf_key_encrypted=key.pdf_key_encrypted,
        )
