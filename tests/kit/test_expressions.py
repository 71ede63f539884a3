"""The form condition language: grammar, meaning, errors with positions, limits, safety."""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import random
from collections.abc import Iterator, Mapping
from decimal import Decimal

import pytest

from onewindow.kit import expressions as ex
from onewindow.kit.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_LIST_ITEMS,
    And,
    Call,
    Compare,
    Constant,
    Expression,
    ExpressionError,
    ListLiteral,
    Name,
    Not,
    Or,
    compile_expression,
)


def check(text: str, **variables: object) -> bool:
    return compile_expression(text).evaluate(variables)


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    return info.value


# --- the examples from the form schemas -----------------------------------------------------


def test_show_if_example():
    expression = compile_expression("has_agent == 'yes'")
    assert expression.evaluate({"has_agent": "yes"}) is True
    assert expression.evaluate({"has_agent": "no"}) is False
    assert expression.evaluate({}) is False


def test_required_if_example():
    expression = compile_expression("applicant.age < 18 and relation in ['父亲', '母亲']")
    assert expression.evaluate({"applicant": {"age": 17}, "relation": "母亲"})
    assert not expression.evaluate({"applicant": {"age": 18}, "relation": "母亲"})
    assert not expression.evaluate({"applicant": {"age": 17}, "relation": "祖父"})
    assert not expression.evaluate({"relation": "父亲"})  # age unanswered
    assert expression.names == frozenset({"applicant.age", "relation"})


# --- literals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'abc'", "abc"),
        ('"abc"', "abc"),
        ("''", ""),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'a\\'", "a\\"),
        ('"it\'s"', "it's"),
        ("'示范市'", "示范市"),
        ("42", 42),
        ("0", 0),
        ("-7", -7),
        ("3.14", Decimal("3.14")),
        ("-0.5", Decimal("-0.5")),
        ("true", True),
        ("True", True),
        ("false", False),
        ("False", False),
        ("null", None),
        ("None", None),
    ],
)
def test_literals(text, value):
    tree = compile_expression(text).tree
    assert tree == Constant(value)
    assert type(tree.value) is type(value)  # 42 is an int, 3.14 a Decimal, true a bool


def test_decimal_literals_are_exact():
    assert check("x == 0.3", x=Decimal("0.1") + Decimal("0.2"))
    assert compile_expression("0.10").tree == Constant(Decimal("0.10"))


def test_lists():
    assert compile_expression("[]").tree == ListLiteral(())
    assert compile_expression("[1, 'b', a, [true]]").tree == ListLiteral(
        (Constant(1), Constant("b"), Name(("a",)), ListLiteral((Constant(True),)))
    )
    assert compile_expression("[1, 2,]").tree == ListLiteral((Constant(1), Constant(2)))
    assert check("x in [a, b]", x=2, a=1, b=2)


def test_whitespace_including_full_width_space_is_ignored():
    assert check("\ta\u3000==\n'是'  ", a="是")


# --- names ----------------------------------------------------------------------------------


def test_nested_dotted_paths():
    answers = {"applicant": {"address": {"region": "990101"}, "age": 30}}
    assert check("applicant.address.region == '990101'", **answers)
    assert check("applicant.age >= 18", **answers)
    assert not check("applicant.address.street == 'x'", **answers)
    assert check("applicant.address.street == null", **answers)


def test_paths_only_index_mappings():
    # A path through a string, a list or a number is null, not an error or an attribute.
    assert check("a.upper == null", a="text")
    assert check("a.real == null and b.count == null", a=5, b=[1])


def test_cjk_identifiers_and_strings():
    answers = {"申请人": {"年龄": 16, "户籍": "示范市"}, "关系": "母亲"}
    assert check("申请人.年龄 < 18 and 关系 in ['父亲', '母亲']", **answers)
    assert check("申请人.户籍 == '示范市'", **answers)
    assert check("'示范' in 申请人.户籍", **answers)
    assert compile_expression("申请人.年龄 > 0 or 关系").names == {"申请人.年龄", "关系"}


def test_identifiers_with_digits_and_underscores():
    assert check("_field_2 == 1 and 第2项 == 'x'", _field_2=1, 第2项="x")


@pytest.mark.parametrize(
    "text", ["a", "a == 1", "a.b.c == 'x'", "a in [1, 2]", "a < 3", "a >= 3", "len(a) > 0"]
)
def test_missing_names_are_false(text):
    assert compile_expression(text).evaluate({}) is False


def test_missing_name_is_null():
    assert check("a == null")
    assert check("a.b.c == None")
    assert check("empty(a)")


def test_missing_and_not_equal():
    # `!=` is exactly `not ==`: an unanswered field is not 'yes'.
    assert check("has_agent != 'yes'")


def test_names_lists_every_dotted_name_once():
    expression = compile_expression(
        "a == 1 or (b.c in [d, 'e'] and not len(f.g.h) > 0) or a == 2 or empty(i)"
    )
    assert expression.names == frozenset({"a", "b.c", "d", "f.g.h", "i"})
    assert compile_expression("len('x') == 1 and true").names == frozenset()


def test_function_names_can_also_be_field_names():
    assert check("len == 3", len=3)
    assert compile_expression("empty").names == {"empty"}


# --- precedence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "not a == 1 or b",
            Or((Not(Compare("==", Name(("a",)), Constant(1))), Name(("b",)))),
        ),
        (
            "a or b and c",
            Or((Name(("a",)), And((Name(("b",)), Name(("c",)))))),
        ),
        (
            "a and b or c and d",
            Or((And((Name(("a",)), Name(("b",)))), And((Name(("c",)), Name(("d",)))))),
        ),
        ("not a and b", And((Not(Name(("a",))), Name(("b",))))),
        ("not not a", Not(Not(Name(("a",))))),
        ("not a in b", Not(Compare("in", Name(("a",)), Name(("b",))))),
        (
            "a in b == true",
            Compare("==", Compare("in", Name(("a",)), Name(("b",))), Constant(True)),
        ),
        (
            "a == b not in c",
            Compare("==", Name(("a",)), Compare("not in", Name(("b",)), Name(("c",)))),
        ),
        ("(a or b) and c", And((Or((Name(("a",)), Name(("b",)))), Name(("c",))))),
        ("not (a == 1)", Not(Compare("==", Name(("a",)), Constant(1)))),
        ("a or b or c", Or((Name(("a",)), Name(("b",)), Name(("c",))))),
        ("((a))", Name(("a",))),
    ],
)
def test_precedence(text, tree):
    assert compile_expression(text).tree == tree


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"a": 1, "b": False}, False),  # (not True) or False
        ({"a": 2, "b": False}, True),  # (not False) or False
        ({"a": 1, "b": True}, True),  # (not True) or True
        ({}, True),  # missing a is not 1
    ],
)
def test_not_binds_looser_than_comparison(variables, expected):
    assert compile_expression("not a == 1 or b").evaluate(variables) is expected


def test_and_binds_tighter_than_or():
    assert check("a or b and c", a=True, b=False, c=False)
    assert not check("(a or b) and c", a=True, b=False, c=False)


def test_and_or_short_circuit():
    # The right side would fail (len of a number is null; null > 0 is false) but is never needed.
    assert check("true or len(x) > 0", x=5)
    assert not check("false and len(x) == null", x=5)


# --- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 == 1", True),
        ("1 == 2", False),
        ("'a' == 'a'", True),
        ("'a' == 'A'", False),
        ("null == null", True),
        ("true == true", True),
        ("[1, 'a'] == [1, 'a']", True),
        ("[1, 'a'] == ['a', 1]", False),
        ("1 != 2", True),
        ("1 != 1", False),
        ("'a' != 'b'", True),
        ("1 < 2", True),
        ("2 < 1", False),
        ("1 < 1", False),
        ("1 <= 1", True),
        ("2 <= 1", False),
        ("2 > 1", True),
        ("1 > 1", False),
        ("1 >= 1", True),
        ("0 >= 1", False),
        ("-1 < 0", True),
        ("'a' < 'b'", True),
        ("'b' < 'a'", False),
        ("'10' < '9'", True),  # strings compare by code point, not as numbers
        ("'a' in 'abc'", True),
        ("'d' in 'abc'", False),
        ("'' in 'abc'", True),
        ("'a' not in 'abc'", False),
        ("1 in [1, 2]", True),
        ("3 in [1, 2]", False),
        ("3 not in [1, 2]", True),
        ("1 not in [1, 2]", False),
        ("[1] in [[1], [2]]", True),
        ("1 in []", False),
        ("not true", False),
        ("not false", True),
        ("true and false", False),
        ("true and true", True),
        ("false or true", True),
        ("false or false", False),
    ],
)
def test_operators(text, expected):
    assert check(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "x < 3",
        "x <= 3",
        "x > 3",
        "x >= 3",
        "s < 4",
        "s >= 4",
        "n < 'b'",
        "b > 0",
        "b < 2",
        "l < [2]",
        "l > 0",
        "m < 1",
        "d < 1",
    ],
)
def test_ordering_incompatible_types_is_false(text):
    variables = {"s": "3", "n": 1, "b": True, "l": [1], "m": {"k": 1}, "d": object()}
    assert compile_expression(text).evaluate(variables) is False


def test_ordering_incompatible_types_is_false_in_both_directions():
    # Neither `<` nor `>=` holds, so `not (x < 3)` differs from `x >= 3` when x is missing.
    assert not check("x < 3")
    assert not check("x >= 3")
    assert check("not (x < 3)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'3' == 3", False),
        ("'3' != 3", True),
        ("3 == '3'", False),
        ("true == 1", False),
        ("false == 0", False),
        ("null == 0", False),
        ("null == ''", False),
        ("null == false", False),
        ("[] == ''", False),
        ("'1' in [1, 2]", False),
        ("1 in ['1', '2']", False),
        ("true in [1]", False),
        ("1 in '123'", False),
        ("1 not in '123'", True),
    ],
)
def test_no_coercion_between_types(text, expected):
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("1 == 1.0", {}),
        ("1.0 == 1", {}),
        ("1.50 == 1.5", {}),
        ("x == 1", {"x": Decimal("1.00")}),
        ("x == 2.5", {"x": Decimal("2.5")}),
        ("x == 0.1", {"x": 0.1}),  # a float from JSON is the decimal it prints as
        ("x < 0.2", {"x": 0.1}),
        ("x == 1", {"x": 1.0}),
        ("x in [1, 2]", {"x": 2.0}),
        ("x in [0.1]", {"x": 0.1}),
        ("x > 17.5", {"x": 18}),
    ],
)
def test_numbers_compare_numerically_across_int_decimal_and_float(text, variables):
    assert compile_expression(text).evaluate(variables) is True


def test_numeric_strings_are_not_numbers():
    assert not check("age < 18", age="17")
    assert not check("age == 17", age="17")


def test_nan_and_infinity_are_harmless():
    nan = float("nan")
    assert not check("x == x", x=nan)
    assert not check("x < 1", x=nan)
    assert not check("x >= 1", x=Decimal("NaN"))
    assert check("x > 1", x=float("inf"))
    assert not check("x < 1", x=Decimal("sNaN"))


def test_in_with_missing_or_unsupported_containers():
    # An unanswered list contains nothing.
    assert not check("'a' in reasons")
    assert check("'a' not in reasons")
    assert not check("'a' in reasons", reasons={"a": 1})  # mappings are not containers here
    assert not check("'a' in reasons", reasons=5)
    assert check("'x' in tags", tags=("x", "y"))  # tuples are lists


def test_list_values_from_variables():
    assert check("reasons == ['a', 'b']", reasons=["a", "b"])
    assert check("reasons == ['a', 'b']", reasons=("a", "b"))
    assert not check("reasons == [1]", reasons=[True])
    assert check("x in reasons", x="b", reasons=["a", "b"])


def test_booleans_from_variables():
    assert check("agree == true", agree=True)
    assert check("agree", agree=True)
    assert not check("agree", agree=False)
    assert not check("agree == 1", agree=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (Decimal("0.0"), False),
        (0.0, False),
        (2, True),
        ("", False),
        ("no", True),  # a non-empty answer is true: compare explicitly
        ([], False),
        (["a"], True),
        ({}, False),
        ({"a": 1}, True),
    ],
)
def test_truthiness(value, expected):
    assert check("x", x=value) is expected
    assert check("not x", x=value) is not expected


# --- functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "length"),
    [("", 0), ("示范市", 3), ([], 0), ([1, 2], 2), ((1,), 1), ({"a": 1}, 1), (None, 0)],
)
def test_len(value, length):
    assert check(f"len(x) == {length}", x=value)


def test_len_of_missing_and_literals():
    assert check("len(missing) == 0")
    assert check("len('abc') == 3 and len([1, [2, 3]]) == 2")


@pytest.mark.parametrize("value", [5, True, Decimal("1.5"), object()])
def test_len_of_other_values_is_null(value):
    assert check("len(x) == null", x=value)
    assert not check("len(x) > 0", x=value)
    assert not check("len(x) == 0", x=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("", True),
        ([], True),
        ((), True),
        ({}, True),
        (" ", False),
        ("a", False),
        ([None], False),
        (0, False),  # zero is an answer
        (False, False),  # so is "no"
    ],
)
def test_empty(value, expected):
    assert check("empty(x)", x=value) is expected


def test_empty_of_missing_and_literals():
    assert check("empty(missing)")
    assert check("empty('') and empty([]) and empty(null) and not empty('x')")


def test_function_calls_tree():
    assert compile_expression("len(a.b) > 1").tree == Compare(
        ">", Call("len", (Name(("a", "b")),)), Constant(1)
    )


# --- compile errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "expression is empty", 0),
        ("   \n ", "expression is empty", 0),
        ("a == 1 )", "unexpected token ')'", 7),
        ("a == 1 b", "unexpected token 'b'", 7),
        ("a == 1 'x'", "unexpected token \"'x'\"", 7),
        ("a b", "unexpected token 'b'", 2),
        ("a == ", "unexpected end of expression", 5),
        ("a ==", "unexpected end of expression", 4),
        ("a and", "unexpected end of expression", 5),
        ("not", "unexpected end of expression", 3),
        ("== 1", "unexpected token '=='", 0),
        ("a == == 1", "unexpected token '=='", 5),
        ("a not b", "unexpected token 'not'", 2),
        ("a not", "unexpected token 'not'", 2),
        ("in a", "unexpected token 'in'", 0),
        ("(a", "unexpected end of expression (expected ')')", 2),
        ("(a b)", "unexpected token 'b' (expected ')')", 3),
        ("()", "unexpected token ')'", 1),
        ("[1, 2", "unexpected end of expression (expected ']')", 5),
        ("[1 2]", "unexpected token '2' (expected ']')", 3),
        ("[1,,2]", "unexpected token ','", 3),
        ("[,]", "unexpected token ','", 1),
        ("a < b < c", "comparisons cannot be chained", 6),
        ("a == b != c", "comparisons cannot be chained", 7),
        ("a in b in c", "comparisons cannot be chained", 7),
        ("a in b not in c", "comparisons cannot be chained", 7),
        ("'abc", "unterminated string", 0),
        ('a == "abc', "unterminated string", 5),
        ("'abc\\'", "unterminated string", 0),
        ("'a' == 'b", "unterminated string", 7),
        ("'a\\nb'", "unknown escape '\\\\n' in string", 2),
        ("1a", "malformed number '1a'", 0),
        ("1.", "malformed number '1.'", 0),
        ("1.5.2", "malformed number '1.5.'", 0),
        ("1_000", "malformed number '1_'", 0),
        ("a.", "expected a name after '.'", 2),
        ("a..b", "expected a name after '.'", 2),
        ("a.1", "expected a name after '.'", 2),
        (".a", "unexpected character '.'", 0),
        ("a.in", "keyword 'in' cannot be part of a name", 2),
        ("true.x", "keyword 'true' cannot be part of a name", 0),
        ("a = 1", "unexpected character '=' (use '==' to compare)", 2),
        ("!a", "unexpected character '!' (use 'not' or '!=')", 0),
        ("a && b", "unexpected character '&' (use 'and')", 2),
        ("a || b", "unexpected character '|' (use 'or')", 2),
        ("a # comment", "unexpected character '#'", 2),
        ("a + 1", "unexpected character '+'", 2),
        ("a - 1", "unexpected character '-'", 2),
        ("a -1", "unexpected token '-1'", 2),
        ("关系 ＝＝ '母亲'", "unexpected character '＝' (use the ASCII '=')", 3),
        ("（a）", "unexpected character '（' (use the ASCII '(')", 0),
        ("x in [1，2]", "unexpected character '，' (use the ASCII ',')", 7),
        ("a == ‘是’", "unexpected character '‘' (use ASCII single quotes '...')", 5),
        ("a == “是”", "unexpected character '“' (use ASCII double quotes \"...\")", 5),
        ("a\x00", "unexpected character '\\x00'", 1),
        ("foo(1)", "unknown function 'foo'", 0),
        ("a == eval('1')", "unknown function 'eval'", 5),
        ("a.len(1)", "unknown function 'a.len'", 0),
        ("len()", "len() takes exactly 1 argument (0 given)", 0),
        ("x or empty(a, b)", "empty() takes exactly 1 argument (2 given)", 5),
        ("len(a", "unexpected end of expression (expected ')')", 5),
        ("true(1)", "unexpected token '('", 4),
        ("a[0]", "unexpected token '['", 1),
    ],
)
def test_compile_errors(text, message, position):
    error = error_of(text)
    assert error.message == message
    assert error.position == position
    assert str(error) == f"{message} at {position}"


def test_the_first_error_in_the_text_is_reported():
    # The parser fails at ')' (position 1) before the tokenizer's complaint about '#'.
    assert error_of("() #").position == 1
    assert error_of("a # )").position == 2


def test_long_tokens_are_shortened_in_messages():
    error = error_of("a == 1 '" + "x" * 100 + "'")
    assert error.message == 'unexpected token "\'xxxxxxxxxxxxxxxxxxx…"'


def test_expression_error_is_a_value_error():
    error = error_of("a ==")
    assert isinstance(error, ValueError)
    assert error.args == ("unexpected end of expression", 4)


@pytest.mark.parametrize("value", [None, True, 1, ["a == 1"], b"a == 1"])
def test_non_text_is_an_error(value):
    # YAML turns an unquoted `yes` or `true` into a boolean.
    with pytest.raises(ExpressionError) as info:
        compile_expression(value)
    assert info.value.position == 0
    assert info.value.message.startswith("a condition must be text")


# --- limits ---------------------------------------------------------------------------------


def test_length_limit():
    longest = "a == '" + "x" * (MAX_LENGTH - 7) + "'"
    assert len(longest) == MAX_LENGTH
    assert compile_expression(longest).evaluate({"a": "x" * (MAX_LENGTH - 7)})
    error = error_of(longest + " ")
    assert (error.message, error.position) == ("expression is longer than 500 characters", 500)
    assert error_of(" " * 10_000).position == MAX_LENGTH


def nested(depth: int, opener: str, closer: str, inner: str = "a") -> str:
    return opener * depth + inner + closer * depth


@pytest.mark.parametrize(
    ("opener", "closer", "allowed", "position"),
    [
        ("(", ")", 20, 20),  # the 21st '('
        ("[", "]", 20, 20),
        ("len(", ")", 20, 83),  # the '(' of the 21st len(
        ("not ", "", 20, 80),  # the 21st not
        ("not (", ")", 10, 50),  # each `not` and each `(` is a level: the 11th not
    ],
)
def test_nesting_limit(opener, closer, allowed, position):
    compile_expression(nested(allowed, opener, closer))
    error = error_of(nested(allowed + 1, opener, closer))
    assert error.message == f"nesting deeper than {MAX_DEPTH} levels"
    assert error.position == position


def test_nesting_limit_counts_mixed_brackets():
    compile_expression("len([(" * 6 + "(a)" + ")])" * 6)  # 19 levels
    compile_expression("not " + "len([(" * 6 + "(a)" + ")])" * 6)  # 20 levels
    error = error_of("not not " + "len([(" * 6 + "(a)" + ")])" * 6)
    assert error.message == "nesting deeper than 20 levels"


def test_nesting_limit_stops_hostile_input_within_the_length_limit():
    for text in ("(" * MAX_LENGTH, "[" * MAX_LENGTH, "not " * 125, "len(" * 125):
        assert error_of(text).message == "nesting deeper than 20 levels"


def test_flat_chains_are_not_nesting():
    text = " or ".join(f"a{i} == {i}" for i in range(35))
    assert len(text) <= MAX_LENGTH
    expression = compile_expression(text)
    assert isinstance(expression.tree, Or)
    assert len(expression.tree.operands) == 35
    assert expression.evaluate({"a34": 34})
    assert not expression.evaluate({"a34": 33})


def test_list_size_limit():
    items = ", ".join(["1"] * MAX_LIST_ITEMS)
    assert check(f"1 in [{items}]")
    assert check(f"len([{items},]) == 100")
    text = f"1 in [{items}, 2]"
    error = error_of(text)
    assert error.message == "a list has at most 100 items"
    assert error.position == text.index("2")


# --- the compiled object --------------------------------------------------------------------


def test_source_is_kept_as_written():
    text = "  a ==\t'x'  "
    assert compile_expression(text).source == text


def test_tree_and_expression_are_immutable():
    expression = compile_expression("not a == [1]")
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "true"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.tree.operand = Constant(True)  # type: ignore[union-attr]
    assert isinstance(expression.tree, Not)
    assert isinstance(expression.tree.operand, Compare)
    assert isinstance(expression.tree.operand.right, ListLiteral)
    assert isinstance(expression.tree.operand.right.items, tuple)


def test_expressions_compare_and_hash_by_source_and_tree():
    one, two = compile_expression("a == 1"), compile_expression("a == 1")
    assert one == two
    assert hash(one) == hash(two)
    assert one != compile_expression("a == 1 ")  # same tree, different source
    assert "a == 1" in repr(one)


def test_an_expression_is_always_truthy_as_an_object():
    # catalog.schema writes `field.required_if and field.required_if.evaluate(...)`.
    assert bool(compile_expression("false"))


def test_evaluate_returns_a_bool():
    assert isinstance(compile_expression("a"), Expression)
    assert compile_expression("len(a)").evaluate({"a": "xyz"}) is True
    assert compile_expression("a").evaluate({"a": "x"}) is True
    assert compile_expression("a").evaluate({"a": 0}) is False


# --- safety ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("__import__('os').system('x')", 0),
        ("().__class__", 1),
        ("().__class__.__bases__[0].__subclasses__()", 1),
        ("''.__class__", 2),
        ("a.__class__.__init__.__globals__['os']", 32),
        ("open('/etc/passwd')", 0),
        ("getattr(a, '__class__')", 0),
        ("exec('1')", 0),
        ("compile('1', '', 'eval')", 0),
        ("lambda: 1", 6),
        ("[x for x in a]", 3),
        ("a if b else c", 2),
        ("f'{a}'", 1),
        ("a.b()", 0),
        ("len.__call__(a)", 0),
        ("a; import os", 1),
        ("1 ** 999999999", 2),
    ],
)
def test_dangerous_text_does_not_compile(text, position):
    assert error_of(text).position == position


class Spy:
    """A non-mapping answer that records any attribute the evaluator would touch."""

    touched: list[str]

    def __init__(self) -> None:
        object.__setattr__(self, "touched", [])

    def __getattr__(self, name: str) -> object:
        self.touched.append(name)
        raise AttributeError(name)

    @property
    def secret(self) -> str:
        self.touched.append("secret")
        return "leaked"

    def system(self) -> None:  # pragma: no cover - must never run
        self.touched.append("system()")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.__class__", False),
        ("a.__class__ == null", True),  # the path ends at a non-mapping: null
        ("a.secret == 'leaked'", False),
        ("a.secret == null", True),
        ("a.system", False),
        ("a.__dict__", False),
        ("a.__init__.__globals__", False),
        ("len(a.secret) > 0", False),
        ("'leaked' in a.secret", False),
        ("a.secret", False),
    ],
)
def test_dotted_paths_never_touch_python_attributes(text, expected):
    spy = Spy()
    assert compile_expression(text).evaluate({"a": spy}) is expected
    assert spy.touched == []


def test_dunder_names_are_just_mapping_keys():
    # `a.__class__` compiles, but it only looks up the key "__class__" in a mapping.
    assert check("a.__class__ == 'x'", a={"__class__": "x"})
    assert check("a.__class__ == null", a={"b": 1})
    assert check("a.__class__ == null", a="str")


class Hostile(Mapping[str, object]):
    """A mapping whose every look-up fails."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("boom")

    def get(self, key: str, default: object = None) -> object:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        raise RuntimeError("boom")


class BadEquality:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("boom")

    __hash__ = object.__hash__


def test_evaluate_never_raises():
    looped: list[object] = []
    looped.append(looped)
    cases: list[tuple[str, object]] = [
        ("a == 1", Hostile()),
        ("a.b == 1", {"a": Hostile()}),
        ("empty(a)", {"a": Hostile()}),
        ("a", {"a": Hostile()}),
        ("a == b", {"a": BadEquality(), "b": BadEquality()}),
        ("a == b", {"a": looped, "b": [looped]}),
        ("a == 1", None),
        ("a == 1", "not a mapping"),
        ("a == 1", 42),
    ]
    for text, variables in cases:
        assert compile_expression(text).evaluate(variables) is False  # type: ignore[arg-type]


def test_not_of_a_failing_evaluation_is_still_false():
    # The whole condition is false when something fails, not just the failing part ...
    failing = {"a": BadEquality(), "b": BadEquality()}
    assert compile_expression("not (a == b)").evaluate(failing) is False
    assert compile_expression("not a.b").evaluate({"a": Hostile()}) is False
    # ... and values of different kinds are unequal without asking them.
    assert compile_expression("not (a == b)").evaluate({"a": BadEquality(), "b": 1}) is True


def test_module_does_not_use_eval_exec_compile_ast_or_getattr():
    source = pathlib.Path(ex.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    forbidden = {"eval", "exec", "compile", "getattr", "setattr", "__import__", "globals", "vars"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id not in forbidden, node.id
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else []
            modules += [alias.name for alias in node.names]
            assert not {"ast", "builtins", "importlib", "inspect"} & set(modules)


def test_evaluation_depth_is_bounded_by_the_nesting_limit():
    # The deepest tree the limits allow evaluates without approaching the recursion limit.
    text = "not " * 10 + "(" * 10 + "a" + ")" * 10
    assert compile_expression(text).evaluate({"a": True}) is True


# --- fuzzing (seeded, so reproducible; hypothesis is not installed) -------------------------

FRAGMENTS = [
    "a", "b.c", "关系", "'x'", '"y"', "1", "2.5", "-3", "true", "null", "and", "or", "not",
    "in", "not in", "==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", "len(", "empty(",
    ".", "'", "\\", "#", "=", "（", " ", "__class__", "\u3000",
]  # fmt: skip


def compile_or_error(text: str) -> Expression | ExpressionError:
    """Anything other than ExpressionError escaping compile_expression fails the test."""
    try:
        return compile_expression(text)
    except ExpressionError as error:
        return error


def test_random_text_either_compiles_or_raises_expression_error():
    rng = random.Random(20261121)  # noqa: S311 - not cryptographic
    variables = {"a": 1, "b": {"c": [1, "x"]}, "关系": "母亲", "x": None}
    compiled = 0
    for _ in range(3000):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12)))
        expression = compile_or_error(text)
        if isinstance(expression, ExpressionError):
            assert 0 <= expression.position <= len(text)
            continue
        compiled += 1
        assert isinstance(expression.evaluate(variables), bool)
        assert isinstance(expression.evaluate({}), bool)
        assert compile_expression(expression.source) == expression
    assert compiled > 100  # the fuzzing reached the evaluator, not just the error paths


def test_random_printable_characters_never_crash_the_tokenizer():
    rng = random.Random(7)  # noqa: S311 - not cryptographic
    alphabet = [chr(c) for c in range(32, 127)] + ["汉", "字", "\u3000", "（", "\n", "\x00"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        expression = compile_or_error(text)
        if isinstance(expression, ExpressionError):
            assert 0 <= expression.position <= len(text)
        else:
            assert isinstance(expression.evaluate({}), bool)
