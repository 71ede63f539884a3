"""Life-event bundles (一件事一次办): their configuration and the merged form.

A bundle is written in the catalog file's ``bundles`` section (docs/bundles.md)::

    - key: enterprise_opening
      name: 企业开办一件事
      basic_code: YJS000000002
      audience: [legal_person]
      life_events: [open_business]
      on_rejection: return_all        # or: continue
      members:
        - item: business_license
        - item: company_seal
          after: [business_license]   # created when business_license is approved
      shared_materials:               # applicant-provided materials asked once (optional)
        - [death_certificate.applicant_id_card, pension_suspension.applicant_id_card]
      prechecks:                      # 预审: every blocking item is listed at once
        - key: tax_arrears
          dataset: tax_arrears
          blocks_if: "in_arrears == true"
          message: 存在欠缴税款 {arrears_amount} 元
          advice: 请先向税务部门缴清税款

Importing it makes a catalog item (``is_bundle``) whose published version holds the merged
form and materials, and in ``ServiceVersion.bundle`` the map from each member's fields and
materials to the merged ones. Merging:

* form fields with the same ``dictionary_key`` are asked once (a field that is required in
  any member is required; conditions are joined with ``or``); two definitions of one data
  element that disagree (type, choices, multiple) are reported on import, never guessed;
* every other field keeps its key, or becomes ``{member}__{key}`` when the key is taken;
* materials with the same key and the same e-license type (营业执照, 死亡医学证明 ...), and
  the groups listed in ``shared_materials``, are asked once;
* conditions follow the renamed fields; the bundle's time limit is the longest chain of
  members' limits (``after`` makes a chain);
* a bundle has one part per department, so two members of one department are refused.
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from onewindow.catalog.models import Audience, HandlingType, Necessity
from onewindow.kit.expressions import ExpressionError, compile_expression, rename_names

BUNDLE_FIELDS = (
    "key",
    "name",
    "basic_code",
    "implementation_code",
    "department",
    "audience",
    "life_events",
    "keywords",
    "high_frequency",
    "description",
    "acceptance_conditions",
    "location",
    "hours",
    "consult_phone",
    "complaint_phone",
    "on_rejection",
    "online",
    "members",
    "shared_materials",
    "prechecks",
)
RETURN_ALL = "return_all"
CONTINUE = "continue"
ON_REJECTION = (RETURN_ALL, CONTINUE)
DEFAULT_DEPARTMENT = "gov_services"
SHARED_GROUP = "共同信息（各事项共用，只填一次）"
PRECHECK_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PLACEHOLDER_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Member:
    """One member item as the merge sees it: its key, name, department code, audiences, the
    version number (0 while it is only in the file) and its normal content."""

    key: str
    name: str
    department: str
    audience: tuple[str, ...]
    version: int
    content: Mapping[str, Any]


@dataclass
class Merged:
    content: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def _or(conditions: Sequence[str]) -> str:
    unique = list(dict.fromkeys(c for c in conditions if c))
    if len(unique) == 1:
        return unique[0]
    return " or ".join(f"({c})" for c in unique)


def _free_key(member: str, key: str, used: set[str]) -> str:
    digest = zlib.crc32(f"{member}.{key}".encode())  # stable from run to run
    for candidate in (key, f"{member}__{key}", f"m_{digest:08x}_{key}"):
        candidate = candidate[:64]
        if candidate not in used:
            return candidate
    raise ValueError(key)  # pragma: no cover - the hashed name is unique in practice


def _renamed(condition: Any, renames: Mapping[str, str]) -> str:
    if not condition:
        return ""
    try:
        return rename_names(str(condition), renames)
    except ExpressionError:
        return str(condition)  # the member's own check reports it


def _merge_fields(members: Sequence[Member], merged: Merged) -> dict[str, dict[str, str]]:
    used: set[str] = set()
    by_element: dict[str, str] = {}
    maps: dict[str, dict[str, str]] = {}
    parts: dict[str, list[tuple[Member, Mapping[str, Any]]]] = defaultdict(list)
    order: list[str] = []
    for member in members:
        renames: dict[str, str] = {}
        for spec in member.content.get("form", {}).get("fields", []):
            key = str(spec.get("key", ""))
            element = str(spec.get("dictionary_key") or "")
            if element and element in by_element:
                renames[key] = by_element[element]
            else:
                renames[key] = _free_key(member.key, key, used)
                used.add(renames[key])
                order.append(renames[key])
                if element:
                    by_element[element] = renames[key]
        maps[member.key] = renames
        for spec in member.content.get("form", {}).get("fields", []):
            parts[renames[str(spec.get("key", ""))]].append((member, spec))
    fields: list[dict[str, Any]] = []
    # What several members ask is asked first, once; then each member's own questions.
    order = [k for k in order if len(parts[k]) > 1] + [k for k in order if len(parts[k]) == 1]
    for key in order:
        sources = parts[key]
        first_member, first = sources[0]
        out = {k: v for k, v in first.items() if k not in ("required_if", "show_if")}
        out["key"] = key
        if len(sources) > 1:
            _field_conflicts(key, sources, merged)
            out["group"] = SHARED_GROUP
        elif len(members) > 1:
            out["group"] = first_member.name
        required = any(spec.get("required") is True for _m, spec in sources)
        out["required"] = required
        if not required:
            required_if = _or([_renamed(s.get("required_if"), maps[m.key]) for m, s in sources])
            if required_if:
                out["required_if"] = required_if
        if all(s.get("show_if") for _m, s in sources):
            out["show_if"] = _or([_renamed(s.get("show_if"), maps[m.key]) for m, s in sources])
        fields.append(out)
    merged.content["form"] = {"fields": fields}
    return maps


def _options(spec: Mapping[str, Any]) -> list[str]:
    return sorted(str(o.get("value")) for o in spec.get("options") or [] if isinstance(o, Mapping))


def _field_conflicts(
    key: str, sources: Sequence[tuple[Member, Mapping[str, Any]]], merged: Merged
) -> None:
    first_member, first = sources[0]
    for member, spec in sources[1:]:
        differences = [
            name
            for name, value in (
                ("type", lambda s: s.get("type")),
                ("options", _options),
                ("multiple", lambda s: bool(s.get("multiple"))),
            )
            if value(spec) != value(first)
        ]
        if differences:
            merged.problems.append(
                (
                    f"members.{member.key}.form.{spec.get('key')}",
                    _(
                        "The data element %(element)s is defined differently in %(a)s "
                        "(%(a_field)s) and %(b)s (%(b_field)s): %(what)s differ."
                    )
                    % {
                        "element": first.get("dictionary_key"),
                        "a": first_member.key,
                        "a_field": first.get("key"),
                        "b": member.key,
                        "b_field": spec.get("key"),
                        "what": ", ".join(differences),
                    },
                )
            )


def _material_groups(spec: Mapping[str, Any], merged: Merged) -> dict[tuple[str, str], int]:
    groups: dict[tuple[str, str], int] = {}
    raw = spec.get("shared_materials") or []
    if not isinstance(raw, list):
        merged.problems.append(("shared_materials", _("This must be a list of groups.")))
        return groups
    for index, group in enumerate(raw):
        if not isinstance(group, list) or len(group) < 2:
            merged.problems.append(
                (f"shared_materials[{index}]", _("A group names two or more materials."))
            )
            continue
        members_seen: set[str] = set()
        for entry in group:
            item, _dot, material = str(entry).partition(".")
            if item in members_seen:
                merged.problems.append(
                    (
                        f"shared_materials[{index}]",
                        _("A group names at most one material of each member."),
                    )
                )
            members_seen.add(item)
            if not material:
                merged.problems.append(
                    (
                        f"shared_materials[{index}]",
                        _("Write item.material, e.g. %(e)s.")
                        % {"e": "death_certificate.applicant_id_card"},
                    )
                )
                continue
            groups[(item, material)] = index
    return groups


def _merge_materials(
    spec: Mapping[str, Any],
    members: Sequence[Member],
    field_maps: Mapping[str, Mapping[str, str]],
    merged: Merged,
) -> dict[str, dict[str, str]]:
    groups = _material_groups(spec, merged)
    found_in_group: set[tuple[str, str]] = set()
    used: set[str] = set()
    identity: dict[Any, str] = {}
    maps: dict[str, dict[str, str]] = {}
    parts: dict[str, list[tuple[Member, Mapping[str, Any]]]] = defaultdict(list)
    order: list[str] = []
    for member in members:
        renames: dict[str, str] = {}
        for material in member.content.get("materials", []):
            key = str(material.get("key", ""))
            ident: Any = None
            if (member.key, key) in groups:
                ident = ("group", groups[(member.key, key)])
                found_in_group.add((member.key, key))
            elif material.get("license_type"):
                ident = ("license", key, material.get("license_type"))
            if ident is not None and ident in identity:
                renames[key] = identity[ident]
            else:
                renames[key] = _free_key(member.key, key, used)
                used.add(renames[key])
                order.append(renames[key])
                if ident is not None:
                    identity[ident] = renames[key]
            parts[renames[key]].append((member, material))
        maps[member.key] = renames
    for missing in sorted(set(groups) - found_in_group):
        merged.problems.append(
            (
                "shared_materials",
                _("%(item)s has no material %(material)s.")
                % {"item": missing[0], "material": missing[1]},
            )
        )
    materials: list[dict[str, Any]] = []
    for key in order:
        sources = parts[key]
        out = dict(sources[0][1])
        out["key"] = key
        kinds = {(s.get("source"), s.get("license_type") or "") for _m, s in sources}
        if len(kinds) > 1:
            merged.problems.append(
                (
                    f"shared_materials.{key}",
                    _("Materials asked once must come from the same source."),
                )
            )
        necessities = {s.get("necessity") for _m, s in sources}
        out["required_if"] = ""
        if Necessity.REQUIRED in necessities:
            out["necessity"] = Necessity.REQUIRED
        elif Necessity.CONDITIONAL in necessities:
            out["necessity"] = Necessity.CONDITIONAL
            out["required_if"] = _or(
                [
                    _renamed(s.get("required_if"), field_maps[m.key])
                    for m, s in sources
                    if s.get("necessity") == Necessity.CONDITIONAL
                ]
            )
        else:
            out["necessity"] = Necessity.OPTIONAL
        out["copies"] = max(int(s.get("copies") or 0) for _m, s in sources)
        materials.append(out)
    merged.content["materials"] = materials
    return maps


def _longest(members: Sequence[Member], after: Mapping[str, list[str]], name: str) -> int:
    total: dict[str, int] = {}
    for member in members:  # members only wait for earlier ones, so one pass is enough
        before = max((total[k] for k in after.get(member.key, []) if k in total), default=0)
        total[member.key] = before + int(member.content.get(name) or 0)
    return max(total.values(), default=0)


def member_specs(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(m) for m in spec.get("members") or [] if isinstance(m, Mapping)]


def check_spec(spec: Any, departments: set[str], life_events: set[str]) -> list[tuple[str, str]]:
    """The structure of one bundle entry (members are checked by ``merge``)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(spec, Mapping):
        return [("", _("A bundle must be a mapping."))]
    for name in sorted(set(spec) - set(BUNDLE_FIELDS)):
        problems.append((name, _("Unknown attribute.")))
    for name in ("key", "name", "basic_code", "audience", "members"):
        if spec.get(name) in (None, "", []):
            problems.append((name, _("This is required.")))
    if not isinstance(spec.get("online", True), bool):
        problems.append(("online", _("Write true or false.")))
    if spec.get("on_rejection", CONTINUE) not in ON_REJECTION:
        problems.append(("on_rejection", _("Use return_all or continue.")))
    if spec.get("department", DEFAULT_DEPARTMENT) not in departments:
        problems.append(("department", _("No department has this code.")))
    audience = spec.get("audience") or []
    if not isinstance(audience, list) or not set(audience) <= set(Audience.values):
        problems.append(("audience", _("List natural_person and/or legal_person.")))
    for event in spec.get("life_events") or []:
        if event not in life_events:
            problems.append(("life_events", _("Unknown life event %(code)r.") % {"code": event}))
    members = spec.get("members")
    if not isinstance(members, list):
        problems.append(("members", _("This must be a list.")))
        return problems
    seen: list[str] = []
    for index, member in enumerate(members):
        path = f"members[{index}]"
        if not isinstance(member, Mapping) or not member.get("item"):
            problems.append((path, _("A member names an item: {item: key}.")))
            continue
        for name in sorted(set(member) - {"item", "after"}):
            problems.append((f"{path}.{name}", _("Unknown attribute.")))
        after = member.get("after") or []
        if not isinstance(after, list):
            problems.append((f"{path}.after", _("This must be a list.")))
            after = []
        for earlier in after:
            if earlier not in seen:
                problems.append(
                    (
                        f"{path}.after",
                        _("%(key)s must be a member listed before this one.") % {"key": earlier},
                    )
                )
        if member["item"] in seen:
            problems.append((f"{path}.item", _("The item is listed twice.")))
        seen.append(str(member["item"]))
    if len(seen) < 2:
        problems.append(("members", _("A bundle joins two or more items.")))
    problems += _check_prechecks(spec.get("prechecks") or [])
    return problems


def _check_prechecks(raw: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, list):
        return [("prechecks", _("This must be a list."))]
    keys: set[str] = set()
    for index, rule in enumerate(raw):
        path = f"prechecks[{index}]"
        if not isinstance(rule, Mapping):
            problems.append((path, _("A pre-check must be a mapping.")))
            continue
        for name in sorted(set(rule) - {"key", "dataset", "blocks_if", "message", "advice"}):
            problems.append((f"{path}.{name}", _("Unknown attribute.")))
        for name in ("key", "dataset", "blocks_if", "message"):
            if not isinstance(rule.get(name), str) or not rule[name].strip():
                problems.append((f"{path}.{name}", _("This is required.")))
        key = str(rule.get("key", ""))
        if key and not PRECHECK_KEY_RE.match(key):
            problems.append((f"{path}.key", _("Lower-case letters, digits and underscores.")))
        if key in keys:
            problems.append((f"{path}.key", _("The key is used twice.")))
        keys.add(key)
        if isinstance(rule.get("blocks_if"), str) and rule["blocks_if"].strip():
            try:
                compile_expression(rule["blocks_if"])
            except ExpressionError as exc:
                problems.append(
                    (f"{path}.blocks_if", _("Invalid condition: %(error)s") % {"error": exc})
                )
    return problems


def merge(spec: Mapping[str, Any], members: Sequence[Member]) -> Merged:
    """The bundle's version content (guide, merged form and materials, member map)."""
    merged = Merged()
    after = {str(m["item"]): list(m.get("after") or []) for m in member_specs(spec)}
    audience = set(spec.get("audience") or [])
    departments: dict[str, str] = {}
    for member in members:
        missing = audience - set(member.audience)
        if missing:
            merged.problems.append(
                (
                    f"members.{member.key}",
                    _("The item does not serve %(who)s.") % {"who": ", ".join(sorted(missing))},
                )
            )
        if member.department in departments:
            merged.problems.append(
                (
                    f"members.{member.key}",
                    _(
                        "%(a)s and %(b)s are both handled by %(department)s; a bundle has one "
                        "part per department."
                    )
                    % {
                        "a": departments[member.department],
                        "b": member.key,
                        "department": member.department,
                    },
                )
            )
        departments.setdefault(member.department, member.key)
    field_maps = _merge_fields(members, merged)
    material_maps = _merge_materials(spec, members, field_maps, merged)
    promised = _longest(members, after, "promised_limit_days")
    legal = max(_longest(members, after, "legal_limit_days"), promised)
    first = members[0].content if members else {}
    names = "、".join(m.name for m in members)
    merged.content.update(
        {
            "acceptance_conditions": spec.get("acceptance_conditions")
            or "\n".join(
                f"【{m.name}】{m.content.get('acceptance_conditions', '')}" for m in members
            ),
            "legal_limit_days": legal,
            "promised_limit_days": promised,
            "handling_type": HandlingType.COMMITMENT if promised else HandlingType.INSTANT,
            "visits_required": max(
                (int(m.content.get("visits_required") or 0) for m in members), default=0
            ),
            # A bundle is applied for online; a member that needs a visit says so in its guide.
            "online": bool(spec.get("online", True)),
            "location": spec.get("location") or first.get("location", ""),
            "hours": spec.get("hours") or first.get("hours", ""),
            "consult_phone": str(spec.get("consult_phone") or first.get("consult_phone", "")),
            "complaint_phone": str(spec.get("complaint_phone") or first.get("complaint_phone", "")),
            "legal_basis": "\n".join(
                f"【{m.name}】{m.content.get('legal_basis', '')}" for m in members
            ),
            "process": spec.get("description")
            or _(
                "One application, one set of materials; %(names)s are handled in parallel "
                "by their departments."
            )
            % {"names": names},
            "process_definition": "",
            "result_name": "、".join(
                str(m.content.get("result_name")) for m in members if m.content.get("result_name")
            )[:100],
            "fees": [
                {**fee, "name": f"{m.name}：{fee['name']}"[:200]}
                for m in members
                for fee in m.content.get("fees") or []
            ],
        }
    )
    merged.content["bundle"] = {
        "on_rejection": spec.get("on_rejection", CONTINUE),
        "members": [
            {
                "item": m.key,
                "name": m.name,
                "department": m.department,
                "version": m.version,
                "after": after.get(m.key, []),
                "fields": field_maps[m.key],
                "materials": material_maps[m.key],
            }
            for m in members
        ],
        "prechecks": [dict(rule) for rule in spec.get("prechecks") or []],
        "spec": {k: spec[k] for k in BUNDLE_FIELDS if k in spec},
    }
    return merged
