"""The e-license identifier (电子证照标识): MOD 37,36 against python-stdnum, build/parse, and
each rejection reason."""

from __future__ import annotations

import random

import pytest
from stdnum.iso7064 import mod_37_36

from onewindow.kit import license_id as lid
from onewindow.kit import validators

USCC = "91110000600037341L"
ISSUER = "11100000000013127D"  # a 机关 USCC (GB 32100 shape, valid check character)
TYPE_CODE = USCC + "001"
SERIAL = "000000000123"


def _random_body(rng: random.Random) -> str:
    return "".join(rng.choices(lid.ALPHABET_37_36, k=rng.randint(1, 80)))


# --- MOD 37,36 ------------------------------------------------------------------------------


def test_iso_7064_example_vector():
    # The worked example of ISO/IEC 7064 (also python-stdnum's doctest).
    assert lid.mod37_36_check("A12425GABC1234002") == "M"


def test_matches_stdnum_on_random_bodies():
    rng = random.Random(36904)  # noqa: S311 - not cryptographic
    for _ in range(2000):
        body = _random_body(rng)
        assert lid.mod37_36_check(body) == mod_37_36.calc_check_digit(body), body
        assert mod_37_36.is_valid(body + lid.mod37_36_check(body))


@pytest.mark.parametrize("body", ["", "abc", "A-1", "A 1", "１２３"])
def test_mod37_36_rejects_other_characters(body):
    with pytest.raises(ValueError):  # noqa: PT011 - plain ValueError is the contract
        lid.mod37_36_check(body)


def test_local_uscc_check_matches_the_validators_module():
    rng = random.Random(32100)  # noqa: S311 - not cryptographic
    for _ in range(500):
        first17 = "".join(rng.choices(lid.USCC_ALPHABET, k=17))
        assert lid.uscc_check_char(first17) == validators.uscc_check_char(first17)
    assert lid.is_uscc(USCC)
    assert lid.is_uscc(ISSUER)
    assert not lid.is_uscc(USCC[:-1] + "M")


# --- build and parse ------------------------------------------------------------------------


def test_build_gives_the_documented_shape():
    text = lid.license_identifier(TYPE_CODE, ISSUER, SERIAL, "002")
    prefix, rest = text[: len(lid.PREFIX)], text[len(lid.PREFIX) :]
    assert prefix == "1.2.156.3005.2."
    type_code, issuer, serial, version, check = rest.split(".")
    assert (type_code, issuer, serial, version) == (TYPE_CODE, ISSUER, SERIAL, "002")
    assert check == mod_37_36.calc_check_digit(TYPE_CODE + ISSUER + SERIAL + "002")


def test_round_trip():
    rng = random.Random(7)  # noqa: S311 - not cryptographic
    for _ in range(200):
        serial = "".join(rng.choices("0123456789", k=rng.randint(1, 20)))
        version = f"{rng.randint(0, 999):03d}"
        text = lid.license_identifier(TYPE_CODE, ISSUER, serial, version)
        parsed = lid.parse_license_identifier(text)
        assert parsed == lid.LicenseIdentifier(TYPE_CODE, ISSUER, serial, version, parsed.check)
        assert parsed.text == text
        assert mod_37_36.is_valid(parsed.body + parsed.check)


def test_default_version_is_001():
    assert lid.parse_license_identifier(lid.license_identifier(TYPE_CODE, ISSUER, "1")).version == (
        "001"
    )


def test_parse_tolerates_whitespace_and_lowercase():
    text = lid.license_identifier(TYPE_CODE, ISSUER, SERIAL)
    assert lid.parse_license_identifier(f"  {text.lower()}\n").text == text


def test_identifier_is_frozen():
    parsed = lid.parse_license_identifier(lid.license_identifier(TYPE_CODE, ISSUER, SERIAL))
    with pytest.raises(AttributeError):
        parsed.serial = "1"  # type: ignore[misc]


# --- rejections -----------------------------------------------------------------------------

GOOD = lid.license_identifier(TYPE_CODE, ISSUER, SERIAL)


def _reason(text: str) -> str:
    with pytest.raises(lid.LicenseIdError) as caught:
        lid.parse_license_identifier(text)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)  # an English message
    return caught.value.reason


def _replace_part(index: int, value: str) -> str:
    parts = GOOD[len(lid.PREFIX) :].split(".")
    parts[index] = value
    return lid.PREFIX + ".".join(parts)


def test_good_identifier_parses():
    assert lid.parse_license_identifier(GOOD).issuer_code == ISSUER


@pytest.mark.parametrize(
    "text",
    ["", "1.2.156.3005.1." + GOOD[15:], "2.2.156.3005.2." + GOOD[15:], GOOD[15:], "urn:" + GOOD],
)
def test_wrong_prefix(text):
    assert _reason(text) == "prefix"


@pytest.mark.parametrize(
    "text",
    [
        GOOD.rsplit(".", 1)[0],  # no check character
        lid.PREFIX + TYPE_CODE + "." + ISSUER + "." + SERIAL + ".001",
        GOOD + ".X",
        lid.PREFIX + TYPE_CODE + ISSUER + "." + SERIAL + ".001." + GOOD[-1],  # run together
        lid.PREFIX,
    ],
)
def test_missing_or_extra_part(text):
    assert _reason(text) == "parts"


@pytest.mark.parametrize(
    "type_code",
    [
        USCC + "01",  # 20 characters
        USCC + "0001",  # 22 characters
        USCC[:-1] + "M" + "001",  # wrong USCC check character
        USCC[:5] + "I" + USCC[6:] + "001",  # I is not in the USCC alphabet
        USCC + "00A",  # sequence must be digits
    ],
)
def test_bad_type_code(type_code):
    assert _reason(_replace_part(0, type_code)) == "type_code"
    with pytest.raises(lid.LicenseIdError) as caught:
        lid.license_identifier(type_code, ISSUER, SERIAL)
    assert caught.value.reason == "type_code"


@pytest.mark.parametrize("issuer", [ISSUER[:-1], ISSUER[:-1] + "E", ISSUER + "0", "O" * 18])
def test_bad_issuer_code(issuer):
    assert _reason(_replace_part(1, issuer)) == "issuer_code"
    with pytest.raises(lid.LicenseIdError) as caught:
        lid.license_identifier(TYPE_CODE, issuer, SERIAL)
    assert caught.value.reason == "issuer_code"


@pytest.mark.parametrize("serial", ["", "0" * 21, "12A4", "-1", "１２"])
def test_bad_serial(serial):
    assert _reason(_replace_part(2, serial)) == "serial"
    with pytest.raises(lid.LicenseIdError) as caught:
        lid.license_identifier(TYPE_CODE, ISSUER, serial)
    assert caught.value.reason == "serial"


@pytest.mark.parametrize("version", ["", "01", "0001", "1A1"])
def test_bad_version(version):
    assert _reason(_replace_part(3, version)) == "version"
    with pytest.raises(lid.LicenseIdError) as caught:
        lid.license_identifier(TYPE_CODE, ISSUER, SERIAL, version)
    assert caught.value.reason == "version"


@pytest.mark.parametrize("check", ["", "AB", "-", "#"])
def test_malformed_check_character(check):
    assert _reason(_replace_part(4, check)) == "check"


def test_every_other_check_character_is_rejected():
    good_check = GOOD[-1]
    for char in lid.ALPHABET_37_36:
        if char != good_check:
            assert _reason(GOOD[:-1] + char) == "check"


def test_one_character_change_anywhere_is_caught():
    """Change each character of the type code, issuer code, serial and version to every other
    character its part allows: a USCC no longer fits its own check character, and a change to
    the sequence, serial or version no longer fits the MOD 37,36 check character."""
    digits = "0123456789"
    parts = [TYPE_CODE, ISSUER, SERIAL, "001"]
    alphabets = [
        [lid.USCC_ALPHABET] * 18 + [digits] * 3,
        [lid.USCC_ALPHABET] * 18,
        [digits] * len(SERIAL),
        [digits] * 3,
    ]
    expected = ["type_code", "issuer_code", "check", "check"]
    for index, (part, alphabet) in enumerate(zip(parts, alphabets, strict=True)):
        for position, original in enumerate(part):
            for char in alphabet[position]:
                if char == original:
                    continue
                changed = part[:position] + char + part[position + 1 :]
                reason = _reason(_replace_part(index, changed))
                if position < 18 and index < 2:
                    assert reason == expected[index], (index, position, char)
                else:
                    assert reason == "check", (index, position, char)


def test_mod37_36_catches_single_substitutions_and_adjacent_swaps():
    body = TYPE_CODE + ISSUER + SERIAL + "001"
    check = lid.mod37_36_check(body)
    for i, original in enumerate(body):
        for char in lid.ALPHABET_37_36:
            if char != original:
                assert lid.mod37_36_check(body[:i] + char + body[i + 1 :]) != check
        if i + 1 < len(body) and body[i] != body[i + 1]:
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
            assert lid.mod37_36_check(swapped) != check
