"""National commercial cryptography (国密) helpers built on ``cryptography``.

SM3 (GB/T 32905-2016) is the hash, SM4 (GB/T 32907-2016) the block cipher; ``cryptography``
implements both through OpenSSL. The tests check them against the standards' sample vectors.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def sm3_hex(data: bytes) -> str:
    """SM3 digest of ``data`` as 64 lowercase hex characters."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    """HMAC-SM3 (keyed hash for look-ups of encrypted values), 64 hex characters."""
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """SM4 in GCM mode (GB/T 32907): returns nonce (12) + ciphertext + tag (16)."""
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + body + encryptor.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """Inverse of :func:`sm4_gcm_encrypt`; raises ``InvalidTag`` if anything was altered."""
    nonce, body, tag = blob[:12], blob[12:-16], blob[-16:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


class KeyringError(ValueError):
    pass


@dataclass(frozen=True)
class Keyring:
    """Versioned SM4 keys for field encryption, plus the HMAC-SM3 look-up key.

    Ciphertexts read ``sm4gcm:<key id>:<base64>``. New values use ``current``; older key ids stay
    readable, so rotating means adding a key in front and re-encrypting at leisure. The purpose
    (e.g. ``"citizen.id_number"``) is bound in as associated data, so a ciphertext copied into
    another column does not decrypt.
    """

    keys: dict[str, bytes]
    current: str
    lookup_key: bytes

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyringError(f"current key {self.current!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if len(key) != 16 or ":" in key_id:
                raise KeyringError(f"key {key_id!r} must be 16 bytes and its id free of ':'")
        if len(self.lookup_key) < 16:
            raise KeyringError("the look-up key must be at least 16 bytes")

    def encrypt(self, text: str, *, purpose: str) -> str:
        blob = sm4_gcm_encrypt(self.keys[self.current], text.encode(), aad=purpose.encode())
        return f"sm4gcm:{self.current}:{base64.b64encode(blob).decode()}"

    def decrypt(self, token: str, *, purpose: str) -> str:
        try:
            scheme, key_id, payload = token.split(":", 2)
        except ValueError as exc:
            raise KeyringError("not an encrypted value") from exc
        if scheme != "sm4gcm" or key_id not in self.keys:
            raise KeyringError(f"unknown scheme or key id {key_id!r}")
        blob = base64.b64decode(payload)
        return sm4_gcm_decrypt(self.keys[key_id], blob, aad=purpose.encode()).decode()

    def key_id_of(self, token: str) -> str:
        return token.split(":", 2)[1]

    def lookup_hash(self, text: str, *, purpose: str) -> str:
        return hmac_sm3_hex(self.lookup_key, f"{purpose}\x00{text}".encode())

    @classmethod
    def parse(cls, spec: str, lookup_key_hex: str) -> Keyring:
        """``spec`` is ``"k2:<32 hex>,k1:<32 hex>"``; the first key is the current one."""
        keys: dict[str, bytes] = {}
        for item in spec.split(","):
            key_id, _, hex_key = item.strip().partition(":")
            keys[key_id] = bytes.fromhex(hex_key)
        return cls(keys=keys, current=next(iter(keys)), lookup_key=bytes.fromhex(lookup_key_hex))
