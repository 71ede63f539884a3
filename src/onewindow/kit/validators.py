"""Check-digit validators for national identifiers.

* 公民身份号码 (citizen ID number), GB 11643-1999
* 统一社会信用代码 (unified social credit code, USCC), GB 32100-2015
* 行政区划代码 (administrative area code), GB/T 2260

Each validator returns a :class:`CheckResult` that names the first rule that failed, so a
departmental system (or a form) can tell the person exactly what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Province-level codes of GB/T 2260 (the first two digits of every area code). 10 is the
# national level (100000, used in USCCs of central bodies); 83 is used in the ID numbers of
# residence permits for Taiwan residents. Fictional regions (the demo's 示范省, code 99) are
# not here: callers pass the provinces their own region table knows via ``extra_provinces``.
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
NATIONAL_LEVEL = "10"
TAIWAN_RESIDENCE_PERMIT = "83"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a validation. ``rule`` is None when valid."""

    valid: bool
    rule: str | None = None
    reason: str | Promise = ""

    def as_dict(self) -> dict[str, object]:
        return {"valid": self.valid, "rule": self.rule, "reason": str(self.reason)}


OK = CheckResult(valid=True)


def _fail(rule: str, reason: str | Promise) -> CheckResult:
    return CheckResult(valid=False, rule=rule, reason=reason)


# --- GB/T 2260 area codes ------------------------------------------------------------------

AREA_LEVEL_PROVINCE = "province"
AREA_LEVEL_CITY = "city"
AREA_LEVEL_COUNTY = "county"


def area_level(code: str) -> str:
    """Level of a well-formed 6-digit area code: XX0000 province, XXXX00 city, else county."""
    if code[2:] == "0000":
        return AREA_LEVEL_PROVINCE
    if code[4:] == "00":
        return AREA_LEVEL_CITY
    return AREA_LEVEL_COUNTY


def area_parent_code(code: str) -> str | None:
    level = area_level(code)
    if level == AREA_LEVEL_PROVINCE:
        return None
    if level == AREA_LEVEL_CITY:
        return code[:2] + "0000"
    return code[:4] + "00"


def validate_area_code(
    value: str, *, extra_provinces: Iterable[str] = (), allow_national: bool = False
) -> CheckResult:
    value = value.strip()
    if len(value) != 6:
        return _fail("length", _("An area code has 6 digits."))
    if not value.isascii() or not value.isdigit():
        return _fail("charset", _("An area code contains digits only."))
    known = set(PROVINCES) | set(extra_provinces)
    if allow_national:
        known.add(NATIONAL_LEVEL)
    if value[:2] not in known:
        return _fail("area_code", _("The first two digits are not a province in GB/T 2260."))
    if value[:2] != NATIONAL_LEVEL and value[2:4] == "00" and value[4:] != "00":
        return _fail("area_code", _("A county-level code cannot have 00 as its city part."))
    return OK


# --- GB 11643 citizen ID numbers -----------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def id_number_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def normalize_id_number(value: str) -> str:
    return value.strip().upper()


def validate_id_number(
    value: str, *, extra_provinces: Iterable[str] = (), today: dt.date | None = None
) -> CheckResult:
    """Validate a GB 11643-1999 citizen ID number (18 characters).

    Rules, in order: length, charset, area_code, birth_date, check_digit.
    """
    value = normalize_id_number(value)
    if len(value) != 18:
        return _fail("length", _("A citizen ID number has 18 characters."))
    if not _ID_SHAPE.match(value):
        return _fail("charset", _("A citizen ID number is 17 digits followed by a digit or X."))
    area = validate_area_code(
        value[:6], extra_provinces=[*extra_provinces, TAIWAN_RESIDENCE_PERMIT]
    )
    if not area.valid:
        return _fail("area_code", _("The first six digits are not a valid area code."))
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _fail("birth_date", _("Digits 7-14 are not a real date of birth."))
    if birth > (today or dt.date.today()):
        return _fail("birth_date", _("The date of birth cannot be in the future."))
    if birth.year < 1800:
        return _fail("birth_date", _("The date of birth is implausibly early."))
    if id_number_check_char(value[:17]) != value[17]:
        return _fail("check_digit", _("The last character (check digit) does not match."))
    return OK


def id_number_birth_date(value: str) -> dt.date:
    value = normalize_id_number(value)
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def id_number_is_male(value: str) -> bool:
    """The sequence number (digits 15-17) is odd for men and even for women."""
    return int(normalize_id_number(value)[16]) % 2 == 1


# --- GB 32100 unified social credit codes --------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")

# Position 1 (registration authority) and the organisation types (position 2) it may issue,
# from GB 32100-2015 Annex A.
USCC_AUTHORITY_TYPES: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 群众团体, 其他
    "2": "19",  # 外交
    "3": "123459",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str:
    return value.strip().upper()


def validate_uscc(value: str, *, extra_provinces: Iterable[str] = ()) -> CheckResult:
    """Validate a GB 32100-2015 unified social credit code (18 characters).

    Rules, in order: length, charset, registration_authority, org_type, area_code, check_digit.
    """
    value = normalize_uscc(value)
    if len(value) != 18:
        return _fail("length", _("A unified social credit code has 18 characters."))
    if not _USCC_SHAPE.match(value):
        return _fail(
            "charset",
            _("Only digits and capital letters other than I, O, S, V and Z are allowed."),
        )
    types = USCC_AUTHORITY_TYPES.get(value[0])
    if types is None:
        return _fail(
            "registration_authority", _("The first character is not a registration authority.")
        )
    if value[1] not in types:
        return _fail(
            "org_type",
            _("The second character is not an organisation type of that registration authority."),
        )
    area = validate_area_code(value[2:8], extra_provinces=extra_provinces, allow_national=True)
    if not area.valid:
        return _fail("area_code", _("Characters 3-8 are not a valid area code."))
    if uscc_check_char(value[:17]) != value[17]:
        return _fail("check_digit", _("The last character (check digit) does not match."))
    return OK


# --- mainland mobile numbers ---------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(value: str) -> str:
    """``+86 138-1234-5678`` -> ``13812345678``; raises ValueError if it is not a mobile."""
    digits = re.sub(r"[\s\-()]", "", value.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.match(digits):
        raise ValueError(f"not a mainland mobile number: {value!r}")
    return digits
