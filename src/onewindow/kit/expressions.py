"""A small, safe condition language for declarative forms (表单条件表达式).

The form schemas of 政务服务事项 are written in YAML by each city, so their conditions are
untrusted text::

    show_if: "has_agent == 'yes'"
    required_if: "applicant.age < 18 and relation in ['父亲', '母亲']"

Python's ``eval``/``exec``/``compile`` (or evaluating an ``ast``) would hand that text the whole
interpreter, so this module has its own linear-time tokenizer, a recursive-descent parser that
builds an immutable tree, and an evaluator that only ever *indexes mappings*: no attribute access,
no calls except the whitelisted functions, bounded length, nesting and list size.

Grammar (EBNF; precedence from low to high, every binary operator listed once)::

    expression  = or_expr END
    or_expr     = and_expr { "or" and_expr }
    and_expr    = not_expr { "and" not_expr }
    not_expr    = "not" not_expr | comparison
    comparison  = membership [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) membership ]
    membership  = primary [ ( "in" | "not" "in" ) primary ]
    primary     = STRING | NUMBER | "true" | "false" | "null" | list | call | NAME
                | "(" or_expr ")"
    list        = "[" [ or_expr { "," or_expr } [ "," ] ] "]"
    call        = FUNCTION "(" [ or_expr { "," or_expr } ] ")"

    STRING      = "'" ... "'" | '"' ... '"'       escapes: \\' \\" \\\\ only
    NUMBER      = [ "-" ] DIGITS [ "." DIGITS ]   ASCII digits; a "." makes it a Decimal
    NAME        = SEGMENT { "." SEGMENT }         SEGMENT: a Unicode identifier (CJK allowed)
    FUNCTION    = "len" | "empty"

``True``/``False``/``None`` are accepted as spellings of ``true``/``false``/``null``. Comparisons
do not chain (``a < b < c`` and ``a in b in c`` are errors, not Python's chained comparisons).

Meaning, chosen so that a condition about an unanswered field is simply false:

* a missing name (or a path through something that is not a mapping) is ``null``;
* ``==`` is true only for values of the same kind (null, boolean, number, string, list):
  ``'3' == 3`` and ``true == 1`` are false, ``1 == 1.0`` is true (numbers compare exactly, a
  Python float from JSON is read as the decimal it prints as); ``!=`` is exactly ``not ==``;
* ``< <= > >=`` compare two numbers or two strings (by code point); any other pair is false, so
  ``null < 3`` and ``null >= 3`` are both false;
* ``x in y`` is substring for two strings and element equality for a list; any other ``y``
  (null included) contains nothing, so ``'a' not in missing`` is true; ``not in`` is exactly
  ``not (in)``;
* ``len(x)`` of a string, list or mapping, ``0`` for null, else null; ``empty(x)`` is true for
  null, ``''``, ``[]`` and ``{}`` only (``0`` and ``false`` are answers);
* ``and``/``or``/``not`` use truthiness and give booleans: null, false, 0, and empty strings,
  lists and mappings are false; everything else is true.

``Expression.evaluate`` never raises: anything that goes wrong while evaluating makes the
condition false.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeAlias

MAX_LENGTH: Final = 500
MAX_DEPTH: Final = 20
MAX_LIST_ITEMS: Final = 100


class ExpressionError(ValueError):
    """A condition that does not compile: what is wrong and where.

    ``position`` is the 0-based index (in characters, so one per 汉字) into the source text;
    ``str(error)`` is ``"<message> at <position>"``, e.g. ``"unexpected token ')' at 7"``, which
    a form loader can show to the city's administrator as is.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} at {self.position}"


# --- values ---------------------------------------------------------------------------------


class _Kind(enum.Enum):
    NULL = "null"
    BOOLEAN = "boolean"
    NUMBER = "number"
    STRING = "string"
    LIST = "list"
    OTHER = "other"


def _kind(value: object) -> _Kind:
    """The language's type of a Python value (bool before int: True is not the number 1 here)."""
    if value is None:
        return _Kind.NULL
    if isinstance(value, bool):
        return _Kind.BOOLEAN
    if isinstance(value, int | Decimal | float):
        return _Kind.NUMBER
    if isinstance(value, str):
        return _Kind.STRING
    if isinstance(value, list | tuple):
        return _Kind.LIST
    return _Kind.OTHER


def _number(value: object) -> int | Decimal:
    """Numbers compare exactly; a float (JSON answers) is taken as the decimal it prints as,
    so an answer of 0.1 equals the literal 0.1."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return value
    raise TypeError(f"not a number: {type(value).__name__}")


def _truthy(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float):
        return value != 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True  # some other answer is present


def _equal(left: object, right: object) -> bool:
    kind = _kind(left)
    if kind is not _kind(right):
        return False
    if kind is _Kind.NULL:
        return True
    if kind is _Kind.NUMBER:
        return bool(_number(left) == _number(right))
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_equal, left, right))
    return bool(left == right)


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[object, object], bool]:
    """An ordering operator defined only for two numbers or two strings (else false)."""

    def ordered(left: object, right: object) -> bool:
        kind = _kind(left)
        if kind is not _kind(right):
            return False
        try:
            if kind is _Kind.NUMBER:
                return bool(compare(_number(left), _number(right)))
            if kind is _Kind.STRING:
                return bool(compare(left, right))
        except ArithmeticError:  # decimal.InvalidOperation: NaN has no order
            return False
        return False

    return ordered


def _contains(item: object, container: object) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple):
        return any(_equal(item, element) for element in container)
    return False  # null (an unanswered list) and anything else contain nothing


_OPERATORS: Final[dict[str, Callable[[object, object], bool]]] = {
    "==": _equal,
    "!=": lambda left, right: not _equal(left, right),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "in": _contains,
    "not in": lambda left, right: not _contains(left, right),
}
_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


def _length(value: object) -> int | None:
    if value is None:
        return 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    return None


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) == 0
    return False


# The whole set of callable things; each takes exactly one argument.
FUNCTIONS: Final[Mapping[str, Callable[[object], object]]] = {"len": _length, "empty": _empty}


def _resolve(variables: object, path: tuple[str, ...]) -> object:
    """Follow a dotted path through nested mappings only; anything else ends it as null."""
    current = variables
    for segment in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(segment)
    return current


# --- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Constant:
    value: bool | int | Decimal | str | None

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return self.value


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple[Node, ...]

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return [item.evaluate(variables) for item in self.items]


@dataclass(frozen=True, slots=True)
class Name:
    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return _resolve(variables, self.path)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return not _truthy(self.operand.evaluate(variables))


@dataclass(frozen=True, slots=True)
class And:
    """``a and b and c`` is one node, so long chains do not make a deep tree."""

    operands: tuple[Node, ...]

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return all(_truthy(operand.evaluate(variables)) for operand in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return any(_truthy(operand.evaluate(variables)) for operand in self.operands)


@dataclass(frozen=True, slots=True)
class Compare:
    operator: str  # a key of _OPERATORS
    left: Node
    right: Node

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return _OPERATORS[self.operator](
            self.left.evaluate(variables), self.right.evaluate(variables)
        )


@dataclass(frozen=True, slots=True)
class Call:
    function: str  # a key of FUNCTIONS
    arguments: tuple[Node, ...]

    def evaluate(self, variables: Mapping[str, object]) -> object:
        return FUNCTIONS[self.function](*(a.evaluate(variables) for a in self.arguments))


Node: TypeAlias = Constant | ListLiteral | Name | Not | And | Or | Compare | Call


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled condition. Build it with :func:`compile_expression`."""

    source: str
    tree: Node = field(repr=False)
    # Every dotted name the condition reads, so a form loader can report unknown fields.
    names: frozenset[str] = field(repr=False, compare=False)

    def evaluate(self, variables: Mapping[str, object]) -> bool:
        """Truthiness of the condition for these answers; never raises (a failure is false)."""
        try:
            return _truthy(self.tree.evaluate(variables))
        except Exception:
            return False


# --- tokenizer ------------------------------------------------------------------------------


class _T(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    NAME = "name"
    KEYWORD = "keyword"
    OP = "op"
    END = "end"
    BAD = "bad"  # the tokenizer's error, raised when the parser reaches it


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _T
    text: str  # the source slice; for KEYWORD the canonical word (True -> "true")
    position: int
    literal: str | int | Decimal | None = None  # STRING and NUMBER
    path: tuple[str, ...] = ()  # NAME
    error: ExpressionError | None = None  # BAD


_KEYWORDS: Final = {
    "and": "and",
    "or": "or",
    "not": "not",
    "in": "in",
    "true": "true",
    "True": "true",
    "false": "false",
    "False": "false",
    "null": "null",
    "None": "null",
}
_DIGITS: Final = frozenset("0123456789")
_TWO_CHAR_OPS: Final = frozenset({"==", "!=", "<=", ">="})
_ONE_CHAR_OPS: Final = frozenset("<>()[],")
_ESCAPES: Final = frozenset("'\"\\")
_HINTS: Final = {
    "=": "use '==' to compare",
    "!": "use 'not' or '!='",
    "&": "use 'and'",
    "|": "use 'or'",
    "‘": "use ASCII single quotes '...'",
    "’": "use ASCII single quotes '...'",
    "“": 'use ASCII double quotes "..."',
    "”": 'use ASCII double quotes "..."',
}


def _name_start(char: str) -> bool:
    return char.isidentifier()  # Unicode XID_Start or "_": 汉字 and letters, not digits


def _name_char(char: str) -> bool:
    return ("_" + char).isidentifier()  # Unicode XID_Continue


def _bad_character(char: str, position: int) -> ExpressionError:
    hint = _HINTS.get(char)
    if hint is None and "\uff01" <= char <= "\uff5e":  # full-width ASCII, e.g. （ ） ， ＝
        hint = f"use the ASCII {chr(ord(char) - 0xFEE0)!r}"
    message = f"unexpected character {char!r}"
    return ExpressionError(f"{message} ({hint})" if hint else message, position)


def _scan_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    parts: list[str] = []
    chunk = index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            parts.append(text[chunk:index])
            return "".join(parts), index + 1
        if char == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            if escaped not in _ESCAPES:
                sequence = text[index : index + 2]
                raise ExpressionError(f"unknown escape {sequence!r} in string", index)
            parts.append(text[chunk:index])
            parts.append(escaped)
            index += 2
            chunk = index
            continue
        index += 1
    raise ExpressionError("unterminated string", start)


def _scan_number(text: str, start: int) -> tuple[int | Decimal, int]:
    index = start + 1  # past the sign or the first digit
    while index < len(text) and text[index] in _DIGITS:
        index += 1
    is_decimal = index + 1 < len(text) and text[index] == "." and text[index + 1] in _DIGITS
    if is_decimal:
        index += 2
        while index < len(text) and text[index] in _DIGITS:
            index += 1
    if index < len(text) and (text[index] == "." or _name_char(text[index])):
        raise ExpressionError(f"malformed number {text[start : index + 1]!r}", start)
    literal = text[start:index]
    return (Decimal(literal) if is_decimal else int(literal)), index


def _scan_name(text: str, start: int) -> tuple[tuple[str, ...], int]:
    segments: list[str] = []
    index = start
    while True:
        segment_start = index
        if index >= len(text) or not _name_start(text[index]):
            raise ExpressionError("expected a name after '.'", index)
        index += 1
        while index < len(text) and _name_char(text[index]):
            index += 1
        segment = text[segment_start:index]
        dotted = index < len(text) and text[index] == "."
        if segment in _KEYWORDS and (segments or dotted):
            raise ExpressionError(f"keyword {segment!r} cannot be part of a name", segment_start)
        segments.append(segment)
        if not dotted:
            return tuple(segments), index
        index += 1


def _tokenize(text: str) -> list[_Token]:
    """One left-to-right pass, each character looked at a bounded number of times.

    A lexical error becomes a final BAD token instead of being raised at once, so that the
    parser reports whichever error comes first in the text.
    """
    tokens: list[_Token] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():  # includes the full-width space
            index += 1
        if index >= len(text):
            tokens.append(_Token(_T.END, "", len(text)))
            return tokens
        start, char = index, text[index]
        try:
            if char in "'\"":
                string, index = _scan_string(text, start)
                tokens.append(_Token(_T.STRING, text[start:index], start, literal=string))
            elif char in _DIGITS or (
                char == "-" and start + 1 < len(text) and text[start + 1] in _DIGITS
            ):
                number, index = _scan_number(text, start)
                tokens.append(_Token(_T.NUMBER, text[start:index], start, literal=number))
            elif _name_start(char):
                path, index = _scan_name(text, start)
                word = text[start:index]
                if word in _KEYWORDS:
                    tokens.append(_Token(_T.KEYWORD, _KEYWORDS[word], start))
                else:
                    tokens.append(_Token(_T.NAME, word, start, path=path))
            elif text[start : start + 2] in _TWO_CHAR_OPS:
                index = start + 2
                tokens.append(_Token(_T.OP, text[start:index], start))
            elif char in _ONE_CHAR_OPS:
                index = start + 1
                tokens.append(_Token(_T.OP, char, start))
            else:
                raise _bad_character(char, start)
        except ExpressionError as error:
            tokens.append(_Token(_T.BAD, "", error.position, error=error))
            return tokens


# --- parser ---------------------------------------------------------------------------------


def _shown(token: _Token) -> str:
    if token.kind is _T.END:
        return "end of expression"
    text = token.text if len(token.text) <= 20 else token.text[:20] + "…"
    return f"token {text!r}"


class _Parser:
    """Recursive descent over the grammar in the module docstring; one method per rule."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0
        self.names: set[str] = set()

    # token helpers

    def _current(self) -> _Token:
        token = self._tokens[self._index]
        if token.error is not None:
            raise token.error
        return token

    def _peek_keyword(self, word: str, offset: int = 0) -> bool:
        if offset == 0:
            token = self._current()
        else:  # looking further ahead never raises: an error there is reported when reached
            token = self._tokens[min(self._index + offset, len(self._tokens) - 1)]
        return token.kind is _T.KEYWORD and token.text == word

    def _peek_op(self, *ops: str) -> bool:
        token = self._current()
        return token.kind is _T.OP and token.text in ops

    def _advance(self) -> _Token:
        token = self._current()
        if token.kind is not _T.END:
            self._index += 1
        return token

    def _expect(self, op: str) -> _Token:
        token = self._current()
        if token.kind is _T.OP and token.text == op:
            return self._advance()
        raise ExpressionError(f"unexpected {_shown(token)} (expected {op!r})", token.position)

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ExpressionError(f"nesting deeper than {MAX_DEPTH} levels", token.position)

    def _leave(self) -> None:
        self._depth -= 1

    # rules

    def parse(self) -> Node:
        node = self._or()
        token = self._current()
        if token.kind is not _T.END:
            raise ExpressionError(f"unexpected {_shown(token)}", token.position)
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._peek_keyword("or"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._peek_keyword("and"):
            self._advance()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _not(self) -> Node:
        if not self._peek_keyword("not"):
            return self._comparison()
        self._enter(self._advance())
        operand = self._not()
        self._leave()
        return Not(operand)

    def _comparison(self) -> Node:
        left = self._membership()
        if not self._peek_op(*_COMPARISONS):
            return left
        op = self._advance().text
        right = self._membership()
        if self._peek_op(*_COMPARISONS):
            raise ExpressionError("comparisons cannot be chained", self._current().position)
        return Compare(op, left, right)

    def _membership_operator(self) -> str | None:
        """Consume ``in`` or ``not in`` if next; a lone ``not`` is left for the caller."""
        if self._peek_keyword("in"):
            self._advance()
            return "in"
        if self._peek_keyword("not") and self._peek_keyword("in", offset=1):
            self._advance()
            self._advance()
            return "not in"
        return None

    def _membership(self) -> Node:
        left = self._primary()
        op = self._membership_operator()
        if op is None:
            return left
        right = self._primary()
        start = self._index
        if self._membership_operator() is not None:
            raise ExpressionError("comparisons cannot be chained", self._tokens[start].position)
        return Compare(op, left, right)

    def _primary(self) -> Node:
        token = self._current()
        if token.kind is _T.STRING or token.kind is _T.NUMBER:
            self._advance()
            return Constant(token.literal)
        if token.kind is _T.KEYWORD and token.text in ("true", "false", "null"):
            self._advance()
            return Constant({"true": True, "false": False, "null": None}[token.text])
        if token.kind is _T.NAME:
            self._advance()
            if self._peek_op("("):
                return self._call(token)
            self.names.add(token.text)
            return Name(token.path)
        if token.kind is _T.OP and token.text == "(":
            self._enter(self._advance())
            node = self._or()
            self._expect(")")
            self._leave()
            return node
        if token.kind is _T.OP and token.text == "[":
            return self._list()
        raise ExpressionError(f"unexpected {_shown(token)}", token.position)

    def _list(self) -> Node:
        self._enter(self._advance())
        items: list[Node] = []
        while not self._peek_op("]"):
            if len(items) == MAX_LIST_ITEMS:
                raise ExpressionError(
                    f"a list has at most {MAX_LIST_ITEMS} items", self._current().position
                )
            items.append(self._or())
            if not self._peek_op(","):
                break
            self._advance()
        self._expect("]")
        self._leave()
        return ListLiteral(tuple(items))

    def _call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            raise ExpressionError(f"unknown function {name.text!r}", name.position)
        self._enter(self._advance())
        arguments: list[Node] = []
        if not self._peek_op(")"):
            arguments.append(self._or())
            while self._peek_op(","):
                self._advance()
                arguments.append(self._or())
        self._expect(")")
        self._leave()
        if len(arguments) != 1:
            raise ExpressionError(
                f"{name.text}() takes exactly 1 argument ({len(arguments)} given)", name.position
            )
        return Call(name.text, tuple(arguments))


def compile_expression(text: str) -> Expression:
    """Parse a condition once (when the form schema is loaded); raise ExpressionError if bad."""
    if not isinstance(text, str):
        # YAML turns an unquoted `yes` into True; say so rather than fail obscurely.
        raise ExpressionError(f"a condition must be text, not {type(text).__name__}", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("expression is empty", 0)
    parser = _Parser(_tokenize(text))
    tree = parser.parse()
    return Expression(source=text, tree=tree, names=frozenset(parser.names))


def rename_names(text: str, renames: Mapping[str, str]) -> str:
    """``text`` with every name whose first segment is in ``renames`` renamed (strings, numbers
    and keywords untouched): how a form condition follows its fields into a merged form."""
    compile_expression(text)  # refuse what would not parse
    out: list[str] = []
    last = 0
    for token in _tokenize(text):
        if token.kind is _T.NAME and token.path and token.path[0] in renames:
            out.append(text[last : token.position])
            out.append(renames[token.path[0]])
            last = token.position + len(token.path[0])
    out.append(text[last:])
    return "".join(out)
