"""Declarative form schemas (表单) of service items: validate a schema, then answers to it.

A schema is data a city writes in YAML, not code::

    fields:
      - key: company_name           # identifier, unique in the form
        type: text                  # see FIELD_TYPES
        label: 企业名称
        help: 与名称自主申报结果一致
        required: true              # or required_if: "<condition>"
        show_if: "kind == 'company'"   # hidden (and not required) unless true
        dictionary_key: enterprise.name   # the standard data element it carries
        max_length: 100

Conditions use the safe expression language of ``kit.expressions`` (never eval). Answers are
validated with the national check-digit validators for ID numbers, USCCs, phones and regions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from onewindow.kit import validators
from onewindow.kit.expressions import Expression, ExpressionError, compile_expression

FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "id_number",
    "uscc",
    "phone",
    "address",
    "file",
)
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DICTIONARY_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
FIELD_ATTRIBUTES = {
    "key",
    "type",
    "label",
    "help",
    "required",
    "required_if",
    "show_if",
    "dictionary_key",
    "max_length",
    "min",
    "max",
    "integer",
    "options",
    "multiple",
    "not_future",
    "placeholder",
    "group",
}
MAX_FIELDS = 200
RESERVED_WORDS = {"and", "or", "not", "in", "true", "false", "null", "none", "len", "empty"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a schema: where (a path such as ``fields[2].options``) and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class FormField:
    key: str
    type: str
    label: str
    help: str
    required: bool
    required_if: Expression | None
    show_if: Expression | None
    dictionary_key: str
    spec: Mapping[str, Any]

    def options(self) -> list[dict[str, str]]:
        return list(self.spec.get("options") or [])


@dataclass(frozen=True)
class FormSchema:
    fields: tuple[FormField, ...]

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)

    def keys(self) -> set[str]:
        return {f.key for f in self.fields}


def _condition(raw: Any, path: str, known: set[str], problems: list[Problem]) -> Expression | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        problems.append(Problem(path, _("A condition must be text.")))
        return None
    try:
        expression = compile_expression(raw)
    except ExpressionError as exc:
        problems.append(Problem(path, _("Invalid condition: %(error)s") % {"error": exc}))
        return None
    unknown = sorted(name for name in expression.names if name.split(".")[0] not in known)
    if unknown:
        problems.append(
            Problem(
                path,
                _("The condition refers to unknown fields: %(names)s")
                % {"names": ", ".join(unknown)},
            )
        )
    return expression


def parse_schema(raw: Any, *, extra_names: Iterable[str] = ()) -> tuple[FormSchema, list[Problem]]:
    """Check a schema and build it. Every problem is reported (not just the first)."""
    problems: list[Problem] = []
    if not isinstance(raw, Mapping) or not isinstance(raw.get("fields"), list):
        return FormSchema(()), [Problem("fields", _("A form needs a list of fields."))]
    items = raw["fields"]
    if len(items) > MAX_FIELDS:
        problems.append(
            Problem("fields", _("A form has at most %(n)d fields.") % {"n": MAX_FIELDS})
        )
    keys = [f.get("key") for f in items if isinstance(f, Mapping)]
    known = {k for k in keys if isinstance(k, str)} | set(extra_names)
    seen: set[str] = set()
    fields: list[FormField] = []
    for index, spec in enumerate(items):
        path = f"fields[{index}]"
        if not isinstance(spec, Mapping):
            problems.append(Problem(path, _("A field must be a mapping.")))
            continue
        key = spec.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            problems.append(
                Problem(
                    f"{path}.key",
                    _("A key: lower-case letters, digits and underscores, starting with a letter."),
                )
            )
            continue
        path = f"fields[{index}:{key}]"
        if key in RESERVED_WORDS:
            problems.append(
                Problem(f"{path}.key", _("This word is reserved by the condition language."))
            )
        if key in seen:
            problems.append(Problem(f"{path}.key", _("The key is used twice.")))
        seen.add(key)
        unknown = sorted(set(spec) - FIELD_ATTRIBUTES)
        if unknown:
            problems.append(
                Problem(path, _("Unknown attributes: %(names)s") % {"names": ", ".join(unknown)})
            )
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            problems.append(
                Problem(
                    f"{path}.type",
                    _("Unknown field type %(type)r; use one of %(types)s.")
                    % {"type": kind, "types": ", ".join(FIELD_TYPES)},
                )
            )
            continue
        label = spec.get("label")
        if not isinstance(label, str) or not label.strip():
            problems.append(Problem(f"{path}.label", _("Every field needs a label.")))
        dictionary_key = spec.get("dictionary_key", "")
        if dictionary_key and (
            not isinstance(dictionary_key, str) or not DICTIONARY_KEY_RE.match(dictionary_key)
        ):
            problems.append(
                Problem(
                    f"{path}.dictionary_key", _("A data element is written like person.id_number.")
                )
            )
        if kind == "select":
            options = spec.get("options")
            if (
                not isinstance(options, list)
                or not options
                or not all(
                    isinstance(o, Mapping)
                    and isinstance(o.get("value"), str)
                    and isinstance(o.get("label"), str)
                    for o in options
                )
            ):
                problems.append(
                    Problem(
                        f"{path}.options",
                        _("A choice field needs options, each with a value and a label."),
                    )
                )
            elif len({o["value"] for o in options}) != len(options):
                problems.append(Problem(f"{path}.options", _("Option values must differ.")))
        for bound in ("min", "max", "max_length"):
            if (bound in spec and not isinstance(spec[bound], int | float)) or (
                bound in spec and isinstance(spec[bound], bool)
            ):
                problems.append(Problem(f"{path}.{bound}", _("This must be a number.")))
        required = spec.get("required", False)
        if not isinstance(required, bool):
            problems.append(Problem(f"{path}.required", _("Write true or false.")))
            required = False
        fields.append(
            FormField(
                key=key,
                type=kind,
                label=str(label or ""),
                help=str(spec.get("help", "")),
                required=required,
                required_if=_condition(
                    spec.get("required_if"), f"{path}.required_if", known, problems
                ),
                show_if=_condition(spec.get("show_if"), f"{path}.show_if", known, problems),
                dictionary_key=str(dictionary_key or ""),
                spec=dict(spec),
            )
        )
    return FormSchema(tuple(fields)), problems


def condition_problems(raw: Any, path: str, schema: FormSchema) -> list[Problem]:
    """Check a condition written elsewhere (a material's required_if) against the form."""
    problems: list[Problem] = []
    _condition(raw, path, schema.keys(), problems)
    return problems


# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerError:
    field: str
    code: str
    message: str


def visible(field: FormField, answers: Mapping[str, Any]) -> bool:
    return field.show_if is None or field.show_if.evaluate(answers)


def is_required(field: FormField, answers: Mapping[str, Any]) -> bool:
    if not visible(field, answers):
        return False
    return field.required or bool(field.required_if and field.required_if.evaluate(answers))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _clean_value(field: FormField, value: Any, extra_provinces: frozenset[str]) -> Any:
    """The cleaned value, or raise ValueError(code, message)."""
    kind, spec = field.type, field.spec
    if kind in ("text", "textarea", "file"):
        if not isinstance(value, str):
            raise ValueError("invalid", _("Enter text."))
        value = value.strip()
        limit = int(spec.get("max_length") or (2000 if kind == "textarea" else 200))
        if len(value) > limit:
            raise ValueError("too_long", _("At most %(n)d characters.") % {"n": limit})
        return value
    if kind == "number":
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise ValueError("invalid", _("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError("invalid", _("Enter a number."))
        if spec.get("integer") and number != number.to_integral_value():
            raise ValueError("invalid", _("Enter a whole number."))
        if "min" in spec and number < Decimal(str(spec["min"])):
            raise ValueError("too_small", _("At least %(n)s.") % {"n": spec["min"]})
        if "max" in spec and number > Decimal(str(spec["max"])):
            raise ValueError("too_large", _("At most %(n)s.") % {"n": spec["max"]})
        return number
    if kind == "date":
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError("invalid", _("Enter a date as YYYY-MM-DD.")) from None
        if spec.get("not_future") and day > dt.date.today():
            raise ValueError("future", _("The date cannot be in the future."))
        return day.isoformat()
    if kind == "select":
        allowed = {o["value"] for o in field.options()}
        chosen = value if spec.get("multiple") else [value]
        if not isinstance(chosen, list) or not all(
            isinstance(c, str) and c in allowed for c in chosen
        ):
            raise ValueError("invalid_choice", _("Choose one of the listed options."))
        return value
    if kind == "id_number":
        result = validators.validate_id_number(str(value), extra_provinces=extra_provinces)
        if not result.valid:
            raise ValueError(result.rule or "invalid", str(result.reason))
        return validators.normalize_id_number(str(value))
    if kind == "uscc":
        result = validators.validate_uscc(str(value), extra_provinces=extra_provinces)
        if not result.valid:
            raise ValueError(result.rule or "invalid", str(result.reason))
        return validators.normalize_uscc(str(value))
    if kind == "phone":
        try:
            return validators.normalize_mobile(str(value))
        except ValueError:
            raise ValueError("invalid", _("Enter an 11-digit mainland mobile number.")) from None
    if kind == "address":
        if not isinstance(value, Mapping):
            raise ValueError("invalid", _("Choose the district and enter the street address."))
        region = str(value.get("region", "")).strip()
        detail = str(value.get("detail", "")).strip()
        result = validators.validate_area_code(region, extra_provinces=extra_provinces)
        if not result.valid:
            raise ValueError("area_code", str(result.reason))
        if not detail or len(detail) > 200:
            raise ValueError("invalid", _("Enter the street address (at most 200 characters)."))
        return {"region": region, "detail": detail}
    raise ValueError("invalid", _("Unknown field type."))


def settle_visible(schema: FormSchema, typed: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without those to hidden fields. An answer to a hidden field keeps nothing
    else visible: drop hidden answers until the set of visible fields settles (chains such as
    A shows B shows C)."""
    effective = dict(typed)
    for _round in range(len(schema.fields) + 1):
        hidden = {f.key for f in schema.fields if not visible(f, effective)}
        settled = {k: v for k, v in typed.items() if k not in hidden}
        if settled == effective:
            break
        effective = settled
    return effective


def validate_answers(
    schema: FormSchema, answers: Mapping[str, Any], *, extra_provinces: Iterable[str] = ()
) -> tuple[dict[str, Any], list[AnswerError]]:
    """Clean the answers to a form. Returns every error at once (一次性告知); answers to hidden
    fields and unknown keys are dropped."""
    provinces = frozenset(extra_provinces)
    cleaned: dict[str, Any] = {}
    errors: list[AnswerError] = []
    keys = schema.keys()
    raw = {k: v for k, v in answers.items() if k in keys}
    # Conditions see typed values: "17" typed into a number field is the number 17.
    typed: dict[str, Any] = dict(raw)
    for field in schema.fields:
        if field.key in raw and not _empty(raw[field.key]):
            with contextlib.suppress(ValueError):  # invalid: the condition sees the raw text
                typed[field.key] = _clean_value(field, raw[field.key], provinces)
    typed = settle_visible(schema, typed)
    for field in schema.fields:
        if not visible(field, typed):
            continue
        value = raw.get(field.key)
        if _empty(value):
            if is_required(field, typed):
                errors.append(AnswerError(field.key, "required", _("This field is required.")))
            continue
        try:
            cleaned[field.key] = _clean_value(field, value, provinces)
        except ValueError as exc:
            code, message = exc.args if len(exc.args) == 2 else ("invalid", str(exc))
            errors.append(AnswerError(field.key, code, message))
    return cleaned, errors
