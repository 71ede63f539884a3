"""GB 11643 ID numbers, GB 32100 USCCs and GB/T 2260 area codes: each rule is named."""

from __future__ import annotations

import datetime as dt

import pytest

from onewindow.kit import validators as v

TODAY = dt.date(2026, 11, 21)


def with_id_check(first17: str) -> str:
    return first17 + v.id_number_check_char(first17)


def with_uscc_check(first17: str) -> str:
    return first17 + v.uscc_check_char(first17)


# --- ID numbers -----------------------------------------------------------------------------


def test_standard_sample_id_number_is_valid():
    assert v.validate_id_number("11010519491231002X", today=TODAY).valid


def test_lowercase_x_and_spaces_are_accepted():
    assert v.validate_id_number(" 11010519491231002x ", today=TODAY).valid


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1101051949123100", "length"),
        ("11010519491231002X1", "length"),
        ("", "length"),
        ("1101051949123100XX", "charset"),
        ("11010519491231002A", "charset"),
        ("１１０１０５１９４９１２３１００２Ｘ", "charset"),  # full-width digits
        (with_id_check("99010519491231002"), "area_code"),  # 99 is not a GB/T 2260 province
        (with_id_check("00010519491231002"), "area_code"),
        (with_id_check("11010519490230002"), "birth_date"),  # 30 February
        (with_id_check("11010519491301002"), "birth_date"),  # month 13
        (with_id_check("11010520991231002"), "birth_date"),  # in the future
        (with_id_check("11010517991231002"), "birth_date"),  # implausibly early
        ("110105194912310021", "check_digit"),  # sample with a wrong last char
        ("110105194912310020", "check_digit"),
    ],
)
def test_invalid_id_numbers_name_the_failing_rule(value, rule):
    result = v.validate_id_number(value, today=TODAY)
    assert not result.valid
    assert result.rule == rule
    assert str(result.reason)


def test_id_number_birth_date_today_is_fine_tomorrow_is_not():
    today_id = with_id_check("110105" + TODAY.strftime("%Y%m%d") + "001")
    tomorrow_id = with_id_check(
        "110105" + (TODAY + dt.timedelta(days=1)).strftime("%Y%m%d") + "001"
    )
    assert v.validate_id_number(today_id, today=TODAY).valid
    assert v.validate_id_number(tomorrow_id, today=TODAY).rule == "birth_date"


def test_every_single_digit_change_is_caught_by_the_check_digit():
    sample = "11010519491231002X"
    for position in range(14, 17):  # sequence digits: area and date stay valid
        for digit in "0123456789":
            if digit == sample[position]:
                continue
            changed = sample[:position] + digit + sample[position + 1 :]
            assert v.validate_id_number(changed, today=TODAY).rule == "check_digit", changed


def test_fictional_province_is_accepted_only_when_the_platform_knows_it():
    demo_id = with_id_check("99010219900101001")
    assert v.validate_id_number(demo_id, today=TODAY).rule == "area_code"
    assert v.validate_id_number(demo_id, extra_provinces={"99"}, today=TODAY).valid


def test_birth_date_and_sex_are_read_from_the_number():
    assert v.id_number_birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert v.id_number_is_male("11010519491231002X") is False  # sequence 002 is even
    assert v.id_number_is_male(with_id_check("11010519491231001")) is True


# --- USCC -----------------------------------------------------------------------------------


def test_standard_sample_uscc_is_valid():
    assert v.validate_uscc("91110000600037341L").valid


def test_uscc_is_normalised_to_upper_case():
    assert v.validate_uscc("91110000600037341l").valid


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("91110000600037341", "length"),
        ("91110000600037341LL", "length"),
        ("9111000060003734IL", "charset"),  # I is not in the alphabet
        ("91110000600037341O", "charset"),
        ("9111000060003734-L", "charset"),
        (with_uscc_check("B1110000600037341"), "registration_authority"),
        (with_uscc_check("94110000600037341"), "org_type"),  # 工商 has types 1, 2, 3 only
        (with_uscc_check("Y2110000600037341"), "org_type"),
        (with_uscc_check("91990000600037341"), "area_code"),
        (with_uscc_check("91000000600037341"), "area_code"),
        ("91110000600037341M", "check_digit"),
        ("91110000600037342L", "check_digit"),
    ],
)
def test_invalid_usccs_name_the_failing_rule(value, rule):
    result = v.validate_uscc(value)
    assert not result.valid
    assert result.rule == rule


def test_national_level_area_code_is_allowed_in_a_uscc():
    assert v.validate_uscc(with_uscc_check("11100000000013127")).valid


def test_uscc_check_char_can_be_any_letter_of_the_alphabet():
    # Over many bodies the check character takes every value of the 31-character alphabet,
    # including letters, so the validator must not assume a digit.
    seen = {v.uscc_check_char(f"9111000060003{n:04d}") for n in range(2000)}
    assert seen == set(v.USCC_ALPHABET)


# --- area codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [("110000", "province", None), ("110100", "city", "110000"), ("110105", "county", "110100")],
)
def test_area_level_and_parent(code, level, parent):
    assert v.validate_area_code(code).valid
    assert v.area_level(code) == level
    assert v.area_parent_code(code) == parent


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("11000", "length"),
        ("1100000", "length"),
        ("11010a", "charset"),
        ("990000", "area_code"),
        ("110012", "area_code"),
    ],
)
def test_invalid_area_codes(code, rule):
    assert v.validate_area_code(code).rule == rule
