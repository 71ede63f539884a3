"""Form schemas: checked when loaded; answers checked with the national validators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from onewindow.catalog.schema import parse_schema, validate_answers
from onewindow.kit.validators import id_number_check_char

SCHEMA = {
    "fields": [
        {
            "key": "name",
            "type": "text",
            "label": "姓名",
            "required": True,
            "max_length": 10,
            "dictionary_key": "person.name",
        },
        {"key": "id_number", "type": "id_number", "label": "公民身份号码", "required": True},
        {"key": "age", "type": "number", "label": "年龄", "integer": True, "min": 0, "max": 150},
        {"key": "guardian", "type": "text", "label": "监护人", "required_if": "age < 18"},
        {
            "key": "has_agent",
            "type": "select",
            "label": "委托代理人",
            "required": True,
            "options": [{"value": "yes", "label": "是"}, {"value": "no", "label": "否"}],
        },
        {
            "key": "agent_phone",
            "type": "phone",
            "label": "代理人手机",
            "required": True,
            "show_if": "has_agent == 'yes'",
        },
        {"key": "home", "type": "address", "label": "住址"},
        {"key": "born", "type": "date", "label": "出生日期", "not_future": True},
        {"key": "company", "type": "uscc", "label": "单位代码"},
    ]
}
GOOD_ID = "11010519491231002X"


def schema():
    parsed, problems = parse_schema(SCHEMA)
    assert problems == []
    return parsed


def errors_of(answers):
    return {e.field: e.code for e in validate_answers(schema(), answers)[1]}


def test_valid_answers_are_cleaned_and_unknown_keys_dropped():
    cleaned, errors = validate_answers(
        schema(),
        {
            "name": " 张三 ",
            "id_number": GOOD_ID.lower(),
            "age": "40",
            "has_agent": "yes",
            "agent_phone": "+86 138-1234-5678",
            "home": {"region": "110105", "detail": "幸福路1号"},
            "born": "1949-12-31",
            "company": "91110000600037341L",
            "evil": "<script>",
        },
    )
    assert errors == []
    assert cleaned["name"] == "张三"
    assert cleaned["id_number"] == GOOD_ID
    assert cleaned["age"] == Decimal(40)
    assert cleaned["agent_phone"] == "13812345678"
    assert "evil" not in cleaned


def test_every_error_is_reported_at_once():
    errors = errors_of(
        {
            "id_number": "110105194912310021",
            "age": "12.5",
            "has_agent": "maybe",
            "home": {"region": "999999", "detail": "x"},
            "born": "2999-01-01",
            "company": "91110000600037341M",
        }
    )
    assert errors == {
        "name": "required",
        "id_number": "check_digit",
        "age": "invalid",
        "has_agent": "invalid_choice",
        "home": "area_code",
        "born": "future",
        "company": "check_digit",
    }


def test_conditions_use_typed_answers():
    # "17" typed into the number field is the number 17: the guardian becomes required.
    assert errors_of({"name": "李", "id_number": GOOD_ID, "age": "17", "has_agent": "no"}) == {
        "guardian": "required"
    }
    assert errors_of({"name": "李", "id_number": GOOD_ID, "age": "30", "has_agent": "no"}) == {}


def test_hidden_fields_are_neither_required_nor_kept():
    cleaned, errors = validate_answers(
        schema(),
        {"name": "王", "id_number": GOOD_ID, "has_agent": "no", "agent_phone": "13812345678"},
    )
    assert errors == []
    assert "agent_phone" not in cleaned
    assert errors_of({"name": "王", "id_number": GOOD_ID, "has_agent": "yes"}) == {
        "agent_phone": "required"
    }


@pytest.mark.parametrize(
    ("fields", "path", "needle"),
    [
        ([{"key": "a", "type": "colour", "label": "A"}], "fields[0:a].type", "colour"),
        ([{"key": "A b", "type": "text", "label": "A"}], "fields[0].key", ""),
        ([{"key": "a", "type": "text"}], "fields[0:a].label", ""),
        ([{"key": "a", "type": "select", "label": "A"}], "fields[0:a].options", ""),
        (
            [{"key": "a", "type": "text", "label": "A", "show_if": "b == 1"}],
            "fields[0:a].show_if",
            "b",
        ),
        (
            [{"key": "a", "type": "text", "label": "A", "show_if": "a == (1"}],
            "fields[0:a].show_if",
            "",
        ),
        (
            [
                {"key": "a", "type": "text", "label": "A"},
                {"key": "a", "type": "text", "label": "B"},
            ],
            "fields[1:a].key",
            "",
        ),
        (
            [{"key": "a", "type": "text", "label": "A", "dictionary_key": "Person"}],
            "fields[0:a].dictionary_key",
            "",
        ),
        ([{"key": "a", "type": "text", "label": "A", "onclick": "x"}], "fields[0:a]", "onclick"),
    ],
)
def test_schema_problems_name_the_place(fields, path, needle):
    _, problems = parse_schema({"fields": fields})
    assert path in [p.path for p in problems], problems
    assert needle in " ".join(p.reason for p in problems)


def test_demo_style_id_numbers_validate_on_this_platform():
    first17 = "99010219900307101"
    value = first17 + id_number_check_char(first17)
    assert errors_of({"name": "张", "id_number": value, "has_agent": "no"}) == {
        "id_number": "area_code"
    }
    _cleaned, errors = validate_answers(
        schema(), {"name": "张", "id_number": value, "has_agent": "no"}, extra_provinces={"99"}
    )
    assert errors == []


def test_an_answer_to_a_hidden_field_shows_nothing_else():
    chain, problems = parse_schema(
        {
            "fields": [
                {
                    "key": "changes",
                    "type": "select",
                    "label": "变更事项",
                    "required": True,
                    "options": [
                        {"value": "finance", "label": "财务"},
                        {"value": "none", "label": "无"},
                    ],
                },
                {
                    "key": "new_officer",
                    "type": "select",
                    "label": "新财务负责人",
                    "required": True,
                    "show_if": "changes == 'finance'",
                    "options": [{"value": "yes", "label": "有"}, {"value": "no", "label": "无"}],
                },
                {
                    "key": "officer_phone",
                    "type": "phone",
                    "label": "财务负责人手机",
                    "required": True,
                    "show_if": "new_officer == 'yes'",
                },
            ]
        }
    )
    assert problems == []
    # A stale answer "yes" to the now-hidden new_officer must not demand officer_phone.
    cleaned, errors = validate_answers(chain, {"changes": "none", "new_officer": "yes"})
    assert errors == []
    assert cleaned == {"changes": "none"}
