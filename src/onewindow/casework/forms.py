"""Forms of the application pages, built from the service's form schema (no Django Form classes:
the fields are data the city writes in YAML, see ``catalog.schema``).

Turns a schema and a draft's answers into what the templates render (``FieldView``,
``MaterialView``), a form post back into answers exactly as typed, and service errors
(``ApiError`` details, ``application_problems``) into messages placed next to their inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from onewindow.casework import selectors, services
from onewindow.casework.models import Application, MaterialFile
from onewindow.catalog.models import Material, MaterialSource
from onewindow.catalog.schema import (
    FormField,
    FormSchema,
    parse_schema,
    settle_visible,
    validate_answers,
    visible,
)
from onewindow.kit.errors import ApiError, FieldError
from onewindow.kit.masking import mask_id_number, mask_phone
from onewindow.org import selectors as org_selectors


@dataclass
class PageErrors:
    """Errors of one form post: a message at the top, then each problem next to its input
    (``fields``, keyed by the input's id) and in the summary with a link to that input."""

    message: str = ""
    summary: list[tuple[str, str]] = field(default_factory=list)  # (input id or "", text)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, anchor: str, text: str) -> None:
        self.summary.append((anchor, text))
        if anchor:
            self.fields.setdefault(anchor, []).append(text)

    def __bool__(self) -> bool:
        return bool(self.message or self.summary)

    @property
    def headline(self) -> str:
        """The message, unless the summary already says exactly that."""
        return "" if any(text == self.message for _a, text in self.summary) else self.message

    @property
    def at(self) -> dict[str, list[str]]:
        """``fields`` for templates, which cannot look up keys with hyphens: ``errors.at.x_y``."""
        return {key.replace("-", "_"): value for key, value in self.fields.items()}


def _detail_text(error: ApiError, detail: FieldError) -> str:
    text = str(detail.message or "")
    return text or str(error.message or error.error.message)


def page_errors(error: ApiError, anchor_for: Any = None) -> PageErrors:
    """An ApiError as page text: its message, and each detail next to the input that
    ``anchor_for`` (detail field -> input id, or "") names. Details about no input are listed
    in the summary, except those naming the action (their message is a code, not a sentence)."""
    result = PageErrors(message=str(error.message or error.error.message))
    for detail in error.details:
        anchor = anchor_for(detail.field) if anchor_for else ""
        if anchor or detail.field != "action":
            result.add(anchor or "", _detail_text(error, detail))
    return result


def status_for(error: ApiError) -> int:
    return error.error.status if 400 <= error.error.status < 500 else 400


def schema_of(application: Application) -> FormSchema:
    schema, _problems = parse_schema(application.service_version.form_schema or {})
    return schema


def materials_of(application: Application) -> list[Material]:
    # The catalog has no selector for one version's materials yet; the version is immutable.
    return list(application.service_version.materials.all())


def _provinces() -> frozenset[str]:
    return org_selectors.platform_province_prefixes()


def visible_keys(schema: FormSchema, answers: Mapping[str, Any]) -> set[str]:
    """Fields shown for these answers, settled the way ``validate_answers`` settles them."""
    cleaned, _errors = validate_answers(schema, answers, extra_provinces=_provinces())
    effective = settle_visible(schema, {**answers, **cleaned})
    return {f.key for f in schema.fields if visible(f, effective)}


def regions() -> dict[str, str]:
    return {
        r.code: r.name
        for r in org_selectors.region_list().exclude(level="province").order_by("code")
    }


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def shown_value(form_field: FormField, value: Any, regions: Mapping[str, str]) -> str:
    """An answer as the applicant would read it (option labels, district names)."""
    if _empty(value):
        return ""
    if form_field.type == "select":
        labels = {o["value"]: o["label"] for o in form_field.options()}
        chosen = value if isinstance(value, list) else [value]
        return "、".join(labels.get(str(v), str(v)) for v in chosen)
    if form_field.type == "address" and isinstance(value, Mapping):
        region = str(value.get("region", ""))
        return f"{regions.get(region, region)} {value.get('detail', '')}".strip()
    return str(value)


def input_id(key: str) -> str:
    return f"field-{key}"


def _input_name(key: str) -> str:
    return f"f-{key}"


@dataclass
class FieldView:
    """One schema field ready for the template."""

    key: str
    type: str
    label: str
    help: str
    required: bool
    conditional: bool
    shown: bool
    id: str
    name: str
    multiple: bool = False
    value: str = ""
    values: list[str] = field(default_factory=list)
    region: str = ""
    detail: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    saved_elsewhere: str = ""
    max_length: int | None = None
    correction: str = ""

    @property
    def describedby(self) -> str:
        """Ids of the hint, the error and the conflict note, for aria-describedby."""
        parts = [
            f"{self.id}-correction" if self.correction else "",
            f"{self.id}-hint" if self.help else "",
            f"{self.id}-error" if self.errors else "",
            f"{self.id}-saved" if self.saved_elsewhere else "",
        ]
        return " ".join(p for p in parts if p)


def field_views(
    schema: FormSchema,
    answers: Mapping[str, Any],
    *,
    problems: Mapping[str, list[str]] | None = None,
    saved: Mapping[str, Any] | None = None,
    regions: Mapping[str, str],
    corrections: Mapping[str, str] | None = None,
    prefilled: Iterable[str] = (),
) -> list[FieldView]:
    shown = visible_keys(schema, answers)
    from_registry = set(prefilled)
    views = []
    for f in schema.fields:
        value = answers.get(f.key)
        view = FieldView(
            key=f.key,
            type=f.type,
            label=f.label,
            help=" ".join(
                part
                for part in (
                    f.help,
                    _(
                        "Filled in from your registration in the government's records: "
                        "check it, and change it if it is no longer right."
                    )
                    if f.key in from_registry and answers.get(f.key) not in (None, "")
                    else "",
                )
                if part
            ),
            required=f.required,
            conditional=f.required_if is not None,
            shown=f.key in shown,
            id=input_id(f.key),
            name=_input_name(f.key),
            options=[(o["value"], o["label"]) for o in f.options()],
            multiple=bool(f.spec.get("multiple")),
            errors=list((problems or {}).get(input_id(f.key), [])),
            correction=(corrections or {}).get(f"field:{f.key}", ""),
        )
        limit = f.spec.get("max_length")
        if isinstance(limit, int) and not isinstance(limit, bool):
            view.max_length = limit
        if f.type == "address":
            mapping = value if isinstance(value, Mapping) else {}
            view.region = str(mapping.get("region", ""))
            view.detail = str(mapping.get("detail", ""))
            if view.region and view.region not in regions:
                view.options = [(view.region, view.region)]
        elif f.type == "select" and view.multiple:
            view.values = [str(v) for v in value] if isinstance(value, list) else []
        elif not _empty(value):
            view.value = str(value)
            view.values = [view.value]
        if saved is not None:
            before = shown_value(f, saved.get(f.key), regions)
            if before != shown_value(f, value, regions):
                view.saved_elsewhere = before or _("(no answer)")
        views.append(view)
    return views


def answers_from_post(schema: FormSchema, post: QueryDict) -> dict[str, Any]:
    """What was typed, as the draft keeps it (checked in full only on submission)."""
    answers: dict[str, Any] = {}
    for f in schema.fields:
        name = _input_name(f.key)
        if f.type == "address":
            region = post.get(f"{name}-region", "").strip()
            detail = post.get(f"{name}-detail", "")
            if region or detail.strip():
                answers[f.key] = {"region": region, "detail": detail}
        elif f.type == "select" and f.spec.get("multiple"):
            chosen = [v for v in post.getlist(name) if v]
            if chosen:
                answers[f.key] = chosen
        else:
            value = post.get(name, "")
            if value.strip():
                answers[f.key] = value
    return answers


def problem_anchor(name: str) -> str:
    """Where a problem of ``application_problems`` (or a service detail) belongs on the page."""
    if name.startswith("form_data."):
        return input_id(name.removeprefix("form_data.").split(".")[0])
    if name.startswith("materials."):
        return f"material-{name.removeprefix('materials.')}"
    return ""


def problem_links(
    application: Application, schema: FormSchema, problems: Sequence[FieldError]
) -> list[dict[str, str]]:
    edit = reverse("casework:edit", args=[application.public_id])
    materials = {m.key: m.name for m in materials_of(application)}
    rows = []
    for problem in problems:
        anchor = problem_anchor(problem.field)
        if problem.field.startswith("form_data."):
            form_field = schema.field(anchor.removeprefix("field-"))
            name = form_field.label if form_field else problem.field
            href = f"{edit}?problems=1#{anchor}"
        else:
            key = problem.field.removeprefix("materials.")
            name = materials.get(key, key)
            href = f"{edit}#{anchor}"
        rows.append({"name": name, "message": str(problem.message), "href": href})
    return rows


@dataclass
class MaterialView:
    key: str
    name: str
    # required | conditional_needed | conditional_not_needed | optional | exempt | license
    need: str
    standard: str
    current: MaterialFile | None
    license: Any = None  # the holder's e-license that provides it (need == "license")
    errors: list[str] = field(default_factory=list)
    correction: str = ""

    @property
    def anchor(self) -> str:
        return f"material-{self.key}"


def material_views(
    application: Application,
    answers: Mapping[str, Any],
    problems: Mapping[str, list[str]] | None = None,
    corrections: Mapping[str, str] | None = None,
) -> list[MaterialView]:
    cleaned, _errors = validate_answers(
        schema_of(application), answers, extra_provinces=_provinces()
    )
    current = {m.material_key: m for m in selectors.materials(application=application)}
    sources = services.license_sources(application)
    views = []
    for material in materials_of(application):
        need = services.material_need(material, cleaned, sources)
        views.append(
            MaterialView(
                key=material.key,
                name=material.name,
                need=need,
                standard=material.acceptance_standard,
                current=current.get(material.key),
                license=sources.get(material.key),
                errors=list((problems or {}).get(f"material-{material.key}", [])),
                correction=(corrections or {}).get(f"material:{material.key}", ""),
            )
        )
    return views


def answer_rows(
    application: Application, schema: FormSchema, *, change_links: bool, masked: bool = False
) -> list[dict[str, str]]:
    """The shown answers with their labels; ``masked`` hides ID numbers and mobiles (staff)."""
    answers = application.form_data
    shown = visible_keys(schema, answers)
    region_names = regions()
    edit = reverse("casework:edit", args=[application.public_id])
    return [
        {
            "key": f.key,
            "label": f.label,
            "value": _masked(f, shown_value(f, answers.get(f.key), region_names), masked),
            "href": f"{edit}#{input_id(f.key)}" if change_links else "",
        }
        for f in schema.fields
        if f.key in shown
    ]


def _masked(form_field: FormField, text: str, masked: bool) -> str:
    if not masked or not text:
        return text
    if form_field.type == "id_number":
        return mask_id_number(text)
    if form_field.type == "phone":
        return mask_phone(text)
    return text


def corrections(rows: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The reviewer's reason per item of a correction request, keyed "field:x"/"material:y"."""
    return {f"{row.get('kind')}:{row.get('key')}": str(row.get("reason", "")) for row in rows}


def supplement_rows(application: Application) -> list[dict[str, str]]:
    supplement = application.supplements.first()
    if supplement is None:
        return []
    edit = reverse("casework:edit", args=[application.public_id])
    rows = []
    for entry in supplement.items:
        anchor = (
            input_id(entry.get("key", ""))
            if entry.get("kind") == "field"
            else f"material-{entry.get('key', '')}"
        )
        rows.append({**entry, "href": f"{edit}#{anchor}"})
    return rows


def supplement_choices(
    application: Application, schema: FormSchema, post: QueryDict | None, errors: PageErrors
) -> list[dict[str, Any]]:
    """Every shown form field and every material, each with a tick and a reason box."""
    region_names = regions()
    ticked = set(post.getlist("items")) if post is not None else set()
    shown = visible_keys(schema, application.form_data)
    rows: list[dict[str, Any]] = []
    for f in schema.fields:
        if f.key not in shown:
            continue
        value = f"field:{f.key}"
        rows.append(
            {
                "value": value,
                "kind": "field",
                "key": f.key,
                "name": f.label,
                "answer": _masked(
                    f, shown_value(f, application.form_data.get(f.key), region_names), True
                ),
                "id": f"sup-field-{f.key}",
                "reason_id": f"sup-reason-field-{f.key}",
                "reason_name": f"reason-{value}",
                "checked": value in ticked,
                "reason": post.get(f"reason-{value}", "") if post is not None else "",
            }
        )
    current = {m.material_key: m for m in selectors.materials(application=application)}
    for material in materials_of(application):
        value = f"material:{material.key}"
        uploaded = current.get(material.key)
        rows.append(
            {
                "value": value,
                "kind": "material",
                "key": material.key,
                "name": material.name,
                "answer": uploaded.original_name if uploaded else "",
                "exempt": material.source == MaterialSource.LICENSE,
                "id": f"sup-material-{material.key}",
                "reason_id": f"sup-reason-material-{material.key}",
                "reason_name": f"reason-{value}",
                "checked": value in ticked,
                "reason": post.get(f"reason-{value}", "") if post is not None else "",
            }
        )
    for row in rows:
        row["errors"] = errors.fields.get(str(row["id"]), [])
        row["reason_errors"] = errors.fields.get(str(row["reason_id"]), [])
    return rows


def supplement_items(post: QueryDict, errors: PageErrors) -> list[dict[str, str]]:
    """The ticked items with their reasons; a reason without a tick is a mistake to point out."""
    ticked = post.getlist("items")
    items = []
    for value in ticked:
        kind, _sep, key = value.partition(":")
        reason = post.get(f"reason-{value}", "").strip()
        items.append({"key": key, "reason": reason, "v": value})
        if not reason:
            errors.add(f"sup-reason-{kind}-{key}", _("Say what is wrong."))
    for name in post:
        text = post.get(name, "")
        if name.startswith("reason-") and text.strip() and name[7:] not in ticked:
            kind, _sep, key = name[7:].partition(":")
            errors.add(
                f"sup-{kind}-{key}",
                _("You wrote a reason but did not tick this item. Tick it, or clear the reason."),
            )
    return items


def supplement_anchor(items: Sequence[Mapping[str, str]]) -> Any:
    def anchor(name: str) -> str:
        if name.startswith("items[") and "]" in name:
            raw = name[6 : name.index("]")]
            index = int(raw) if raw.isdigit() else -1
            if 0 <= index < len(items):
                kind, _sep, key = items[index]["v"].partition(":")
                suffix = name[name.index("]") + 1 :]
                if suffix == ".reason":
                    return f"sup-reason-{kind}-{key}"
                return f"sup-{kind}-{key}"
        return "supplement-items"

    return anchor
