from onewindow.kit.crypto import sm3_hex


def test_sm3_matches_the_standard_sample_vectors():
    # GB/T 32905-2016, Appendix A: example 1 ("abc") and example 2 ("abcd" x 16).
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert (
        sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


import pytest  # noqa: E402
from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

from onewindow.kit.crypto import Keyring, KeyringError, hmac_sm3_hex  # noqa: E402


def test_sm4_matches_the_standard_sample_vector():
    # GB/T 32907-2016, Appendix A example 1: key = plaintext = 0123456789abcdeffedcba9876543210.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - the vector is one block
    assert (encryptor.update(key) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )


K1 = "k1:" + "11" * 16
K2 = "k2:" + "22" * 16
LOOKUP = "33" * 32


def test_keyring_round_trip_and_random_nonce():
    ring = Keyring.parse(K1, LOOKUP)
    a = ring.encrypt("11010519491231002X", purpose="citizen.id_number")
    b = ring.encrypt("11010519491231002X", purpose="citizen.id_number")
    assert a != b  # a fresh nonce each time: equal values do not look equal at rest
    assert a.startswith("sm4gcm:k1:")
    assert "11010519491231002X" not in a
    assert ring.decrypt(a, purpose="citizen.id_number") == "11010519491231002X"


def test_ciphertext_is_bound_to_its_purpose_and_detects_tampering():
    ring = Keyring.parse(K1, LOOKUP)
    token = ring.encrypt("13812345678", purpose="citizen.phone")
    with pytest.raises(InvalidTag):
        ring.decrypt(token, purpose="citizen.id_number")
    scheme, key_id, payload = token.split(":", 2)
    flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    with pytest.raises(InvalidTag):
        ring.decrypt(f"{scheme}:{key_id}:{flipped}", purpose="citizen.phone")


def test_rotation_keeps_old_ciphertexts_readable():
    old = Keyring.parse(K1, LOOKUP).encrypt("x", purpose="p")
    rotated = Keyring.parse(f"{K2},{K1}", LOOKUP)
    assert rotated.current == "k2"
    assert rotated.decrypt(old, purpose="p") == "x"
    assert rotated.encrypt("x", purpose="p").startswith("sm4gcm:k2:")
    with pytest.raises(KeyringError):
        Keyring.parse(K2, LOOKUP).decrypt(old, purpose="p")  # k1 removed: unreadable


def test_lookup_hash_is_keyed_and_purpose_separated():
    ring = Keyring.parse(K1, LOOKUP)
    other = Keyring.parse(K1, "44" * 32)
    h = ring.lookup_hash("13812345678", purpose="citizen.phone")
    assert h == ring.lookup_hash("13812345678", purpose="citizen.phone")
    assert h != other.lookup_hash("13812345678", purpose="citizen.phone")
    assert h != ring.lookup_hash("13812345678", purpose="citizen.id_number")
    assert len(hmac_sm3_hex(b"k" * 16, b"x")) == 64


def test_bad_keys_are_refused():
    with pytest.raises(KeyringError):
        Keyring.parse("k1:abcd", LOOKUP)  # not 16 bytes
    with pytest.raises(KeyringError):
        Keyring.parse(K1, "00")  # look-up key too short
