"""Process definitions (办件流程定义): parse, validate and freeze the YAML a city writes.

A definition is a graph of steps: ``task`` steps wait for a person (受理, 审查, 决定, 办结 ...),
``parallel`` steps start branches at once (并联审批), ``join`` steps wait for the branches a
split started, ``end`` steps finish the process. The format, every validation code and the
runtime rules are documented in ``docs/process-definitions.md``.

:func:`load_definition` reports *all* problems it finds in one :class:`DefinitionError`, so a
city's administrator can fix a file in one pass. The result is immutable (frozen dataclasses,
tuples and read-only mappings) and safe to cache and share between threads.

This module is pure: it imports nothing from Django or the project's apps, only the condition
language of ``onewindow.kit.expressions`` and PyYAML (``yaml.safe_load``).
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import yaml

from onewindow.kit.expressions import Expression, ExpressionError, compile_expression

IDENTIFIER: Final = re.compile(r"[a-z0-9_]{1,64}")
"""Definition keys, step ids and action names: lower-case ASCII, digits, ``_``; 1-64 chars."""

EFFECTS: Final = frozenset({"accept", "not_accept", "approve", "reject", "complete"})
"""What an action means for the application (受理, 不予受理, 准予, 不予许可, 办结)."""

LIFECYCLE_ACTIONS: Final = frozenset({"supplement", "suspend", "extend"})
"""Lifecycle actions the app may offer at a task (补正, 中止/特别程序, 延期); not routed here."""

OPINIONS: Final = frozenset({"required", "optional"})
"""Whether the person acting must write an opinion (审查意见)."""

OWNER_DEPARTMENT: Final = "owner"
"""``department`` of a task: the service item's implementing department (实施主体)."""

PROBLEM_CODES: Final = frozenset(
    {
        "yaml_syntax",
        "not_a_mapping",
        "unknown_field",
        "missing_field",
        "bad_key",
        "bad_version",
        "bad_id",
        "bad_text",
        "bad_reference",
        "unknown_step",
        "unknown_step_type",
        "unknown_role",
        "unknown_effect",
        "unknown_lifecycle",
        "bad_opinion",
        "bad_time_limit",
        "bad_condition",
        "bad_target",
        "default_not_last",
        "bad_branch",
        "too_few_branches",
        "duplicate_branch",
        "end_with_actions",
        "not_a_join",
        "shared_join",
        "join_without_split",
        "join_outside_split",
        "branch_misses_join",
        "scope_conflict",
        "unreachable_step",
        "dead_end",
        "automatic_loop",
    }
)
"""Every :attr:`Problem.code` that :func:`load_definition` reports."""


class StepType(enum.StrEnum):
    TASK = "task"
    PARALLEL = "parallel"
    JOIN = "join"
    END = "end"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition; ``path`` is dotted (``steps.review.actions.pass.to``,
    list items by index: ``steps.split.branches.1.when``); ``""`` is the whole document."""

    code: str
    message: str
    path: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message} [{self.code}]"


class DefinitionError(ValueError):
    """A definition that does not load; ``problems`` lists everything found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        lines = [f"process definition has {count} problem{'s' if count != 1 else ''}:"]
        lines.extend(f"- {problem}" for problem in self.problems)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Target:
    """A place to go: an action's target or a parallel branch, taken when ``when`` holds (or
    always, when it is ``None``)."""

    step: str
    when: Expression | None = None

    def matches(self, variables: Mapping[str, object]) -> bool:
        return self.when is None or self.when.evaluate(variables)


@dataclass(frozen=True, slots=True)
class Action:
    """An action a person can take at a task step; ``to`` is tried in order, first match wins."""

    name: str
    to: tuple[Target, ...]
    effect: str | None = None
    opinion: str = "optional"
    label: str | None = None

    @property
    def opinion_required(self) -> bool:
        return self.opinion == "required"


def _no_actions() -> Mapping[str, Action]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Step:
    """One step. Task fields (department, role, time_limit, lifecycle, actions) are empty on the
    other types; ``branches``/``join`` belong to parallel steps, ``next`` to joins."""

    id: str
    type: StepType
    name: str | None = None
    department: str | None = None
    role: str | None = None
    time_limit: int | None = None
    lifecycle: frozenset[str] = frozenset()
    actions: Mapping[str, Action] = field(default_factory=_no_actions)
    branches: tuple[Target, ...] = ()
    join: str | None = None
    next: str | None = None

    def successors(self) -> tuple[str, ...]:
        """Every step this one can lead to directly (targets, branches or next), no duplicates."""
        found: dict[str, None] = {}
        for action in self.actions.values():
            for target in action.to:
                found[target.step] = None
        for branch in self.branches:
            found[branch.step] = None
        if self.next is not None:
            found[self.next] = None
        return tuple(found)


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """A validated, immutable process definition; ``steps`` keeps the file's order."""

    key: str
    version: int
    start: str
    steps: Mapping[str, Step]
    name: str | None = None

    def step(self, step_id: str) -> Step:
        """The step with this id; ``KeyError`` if there is none."""
        return self.steps[step_id]


# --- loading --------------------------------------------------------------------------------

_TOP_FIELDS: Final = frozenset({"key", "version", "name", "start", "steps"})
_STEP_FIELDS: Final = {
    StepType.TASK: frozenset(
        {"type", "name", "department", "role", "time_limit", "lifecycle", "actions"}
    ),
    StepType.PARALLEL: frozenset({"type", "name", "branches", "join"}),
    StepType.JOIN: frozenset({"type", "name", "next"}),
    StepType.END: frozenset({"type", "name"}),
}
_ACTION_FIELDS: Final = frozenset({"label", "effect", "opinion", "to"})
_TARGET_FIELDS: Final = frozenset({"step", "when"})


def load_definition(
    source: str | bytes | Mapping[str, object], *, roles: Collection[str]
) -> ProcessDefinition:
    """Parse YAML text (or an already parsed mapping) and validate it against ``roles``, the
    role names the platform knows; raise :class:`DefinitionError` listing every problem."""
    data: object
    if isinstance(source, str | bytes):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as error:
            raise DefinitionError([Problem("yaml_syntax", str(error), "")]) from None
    else:
        data = source
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else type(data).__name__
        raise DefinitionError(
            [Problem("not_a_mapping", f"a definition must be a mapping, not {kind}", "")]
        )
    loader = _Loader(frozenset(roles))
    definition = loader.document(data)
    if loader.problems or definition is None:
        raise DefinitionError(loader.problems)
    return definition


def _join_path(path: str, name: object) -> str:
    return f"{path}.{name}" if path else str(name)


class _Loader:
    def __init__(self, roles: frozenset[str]) -> None:
        self.roles = roles
        self.problems: list[Problem] = []
        self.step_ids: frozenset[str] = frozenset()

    def problem(self, code: str, message: str, path: str) -> None:
        self.problems.append(Problem(code, message, path))

    # --- helpers ----------------------------------------------------------------------------

    def fields(self, data: Mapping[object, object], allowed: frozenset[str], path: str) -> None:
        for name in data:
            if name not in allowed:
                expected = ", ".join(sorted(allowed))
                self.problem(
                    "unknown_field",
                    f"unknown field {name!r} (expected one of: {expected})",
                    _join_path(path, name),
                )

    def text(self, data: Mapping[object, object], name: str, path: str) -> str | None:
        """An optional non-empty text field (display names, labels, departments)."""
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem("bad_text", f"{name} must be non-empty text", _join_path(path, name))
            return None
        return value

    def reference(self, value: object, path: str) -> str | None:
        """A step id that must exist; ``None`` (after reporting) if it does not."""
        if not isinstance(value, str):
            self.problem(
                "bad_reference", f"a step id must be text, not {type(value).__name__}", path
            )
            return None
        if value not in self.step_ids:
            self.problem("unknown_step", f"there is no step {value!r}", path)
            return None
        return value

    def condition(self, value: object, path: str) -> Expression | None:
        if not isinstance(value, str):
            # YAML reads an unquoted `yes` as true: say so rather than fail obscurely.
            self.problem(
                "bad_condition", f"a condition must be text, not {type(value).__name__}", path
            )
            return None
        try:
            return compile_expression(value)
        except ExpressionError as error:
            self.problem("bad_condition", f"invalid condition: {error}", path)
            return None

    # --- the document -----------------------------------------------------------------------

    def document(self, data: Mapping[object, object]) -> ProcessDefinition | None:
        self.fields(data, _TOP_FIELDS, "")
        key = data.get("key")
        if "key" not in data:
            self.problem("missing_field", "key is missing", "key")
        elif not isinstance(key, str) or not IDENTIFIER.fullmatch(key):
            self.problem(
                "bad_key",
                "key must be 1-64 characters of a-z, 0-9 and _ (e.g. market_license)",
                "key",
            )
        version = data.get("version")
        if "version" not in data:
            self.problem("missing_field", "version is missing", "version")
        elif not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem("bad_version", "version must be a positive whole number", "version")
        name = self.text(data, "name", "")

        raw_steps = data.get("steps")
        steps_data: dict[str, Mapping[object, object]] = {}
        if "steps" not in data:
            self.problem("missing_field", "steps is missing", "steps")
        elif not isinstance(raw_steps, Mapping):
            self.problem("not_a_mapping", "steps must be a mapping of step id to step", "steps")
        elif not raw_steps:
            self.problem("missing_field", "steps is empty", "steps")
        else:
            for step_id, step_data in raw_steps.items():
                path = _join_path("steps", step_id)
                if not isinstance(step_id, str) or not IDENTIFIER.fullmatch(step_id):
                    self.problem(
                        "bad_id",
                        f"step id {step_id!r} must be 1-64 characters of a-z, 0-9, _",
                        path,
                    )
                elif not isinstance(step_data, Mapping):
                    self.problem("not_a_mapping", "a step must be a mapping", path)
                else:
                    steps_data[step_id] = step_data
        # Steps that are malformed still count as existing, so that references to them do not
        # add "unknown_step" noise on top of the real problem.
        self.step_ids = frozenset(
            step_id
            for step_id in (raw_steps if isinstance(raw_steps, Mapping) else ())
            if isinstance(step_id, str) and IDENTIFIER.fullmatch(step_id)
        )

        start: str | None = None
        if "start" not in data:
            self.problem("missing_field", "start is missing", "start")
        else:
            start = self.reference(data["start"], "start")

        steps: dict[str, Step] = {}
        for step_id, step_data in steps_data.items():
            step = self.step(step_id, step_data, _join_path("steps", step_id))
            if step is not None:
                steps[step_id] = step

        _GraphCheck(self, steps, start, complete=len(steps) == len(self.step_ids)).run()

        if self.problems or not isinstance(key, str) or not isinstance(version, int) or not start:
            return None
        return ProcessDefinition(
            key=key, version=version, start=start, steps=MappingProxyType(steps), name=name
        )

    # --- steps ------------------------------------------------------------------------------

    def step(self, step_id: str, data: Mapping[object, object], path: str) -> Step | None:
        raw_type = data.get("type", StepType.TASK.value)
        if not isinstance(raw_type, str) or raw_type not in _STEP_TYPES:
            choices = ", ".join(member.value for member in StepType)
            self.problem(
                "unknown_step_type",
                f"unknown step type {raw_type!r} (expected one of: {choices})",
                _join_path(path, "type"),
            )
            return None
        step_type = StepType(raw_type)
        name = self.text(data, "name", path)
        if step_type is StepType.END:
            if "actions" in data:
                self.problem(
                    "end_with_actions", "an end step has no actions", _join_path(path, "actions")
                )
            self.fields(
                {k: v for k, v in data.items() if k != "actions"}, _STEP_FIELDS[step_type], path
            )
            return Step(id=step_id, type=step_type, name=name)
        self.fields(data, _STEP_FIELDS[step_type], path)
        if step_type is StepType.TASK:
            return self.task(step_id, data, path, name)
        if step_type is StepType.PARALLEL:
            return self.parallel(step_id, data, path, name)
        next_step: str | None = None
        if "next" not in data:
            self.problem("missing_field", "a join needs next", _join_path(path, "next"))
        else:
            next_step = self.reference(data["next"], _join_path(path, "next"))
        return Step(id=step_id, type=step_type, name=name, next=next_step)

    def task(
        self, step_id: str, data: Mapping[object, object], path: str, name: str | None
    ) -> Step:
        department = self.text(data, "department", path) or OWNER_DEPARTMENT

        role = data.get("role")
        if "role" not in data:
            self.problem("missing_field", "a task needs a role", _join_path(path, "role"))
        elif not isinstance(role, str) or role not in self.roles:
            known = ", ".join(sorted(self.roles)) or "none"
            self.problem(
                "unknown_role", f"unknown role {role!r} (known: {known})", _join_path(path, "role")
            )

        time_limit = data.get("time_limit")
        if time_limit is not None and (
            not isinstance(time_limit, int) or isinstance(time_limit, bool) or time_limit < 0
        ):
            self.problem(
                "bad_time_limit",
                "time_limit must be a whole number of working days, 0 or more",
                _join_path(path, "time_limit"),
            )
            time_limit = None

        lifecycle: set[str] = set()
        raw_lifecycle = data.get("lifecycle")
        if raw_lifecycle is not None:
            if not isinstance(raw_lifecycle, list):
                self.problem(
                    "unknown_lifecycle",
                    "lifecycle must be a list of: " + ", ".join(sorted(LIFECYCLE_ACTIONS)),
                    _join_path(path, "lifecycle"),
                )
            else:
                for index, item in enumerate(raw_lifecycle):
                    if isinstance(item, str) and item in LIFECYCLE_ACTIONS:
                        lifecycle.add(item)
                    else:
                        self.problem(
                            "unknown_lifecycle",
                            f"unknown lifecycle action {item!r} (expected one of: "
                            + ", ".join(sorted(LIFECYCLE_ACTIONS))
                            + ")",
                            _join_path(_join_path(path, "lifecycle"), index),
                        )

        actions: dict[str, Action] = {}
        raw_actions = data.get("actions")
        actions_path = _join_path(path, "actions")
        if "actions" not in data:
            self.problem("missing_field", "a task needs actions", actions_path)
        elif not isinstance(raw_actions, Mapping):
            self.problem("not_a_mapping", "actions must be a mapping", actions_path)
        elif not raw_actions:
            self.problem("missing_field", "a task needs at least one action", actions_path)
        else:
            for action_name, action_data in raw_actions.items():
                action = self.action(
                    action_name, action_data, _join_path(actions_path, action_name)
                )
                if action is not None:
                    actions[action.name] = action

        return Step(
            id=step_id,
            type=StepType.TASK,
            name=name,
            department=department,
            role=role if isinstance(role, str) else None,
            time_limit=time_limit,
            lifecycle=frozenset(lifecycle),
            actions=MappingProxyType(actions),
        )

    def action(self, name: object, data: object, path: str) -> Action | None:
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            self.problem(
                "bad_id", f"action name {name!r} must be 1-64 characters of a-z, 0-9, _", path
            )
            return None
        if not isinstance(data, Mapping):
            self.problem("not_a_mapping", "an action must be a mapping (with at least to:)", path)
            return None
        self.fields(data, _ACTION_FIELDS, path)
        label = self.text(data, "label", path)
        effect = data.get("effect")
        if effect is not None and (not isinstance(effect, str) or effect not in EFFECTS):
            self.problem(
                "unknown_effect",
                f"unknown effect {effect!r} (expected one of: {', '.join(sorted(EFFECTS))})",
                _join_path(path, "effect"),
            )
            effect = None
        opinion = data.get("opinion", "optional")
        if not isinstance(opinion, str) or opinion not in OPINIONS:
            self.problem(
                "bad_opinion",
                f"opinion must be required or optional, not {opinion!r}",
                _join_path(path, "opinion"),
            )
            opinion = "optional"
        targets: tuple[Target, ...] = ()
        if "to" not in data:
            self.problem("missing_field", "an action needs to:", _join_path(path, "to"))
        else:
            targets = self.targets(data["to"], _join_path(path, "to"))
        return Action(
            name=name,
            to=targets,
            effect=effect if isinstance(effect, str) else None,
            opinion=opinion,
            label=label,
        )

    def targets(self, value: object, path: str) -> tuple[Target, ...]:
        if isinstance(value, str):
            step = self.reference(value, path)
            return (Target(step),) if step is not None else ()
        if not isinstance(value, list) or not value:
            self.problem(
                "bad_target",
                "to must be a step id or a non-empty list of {when, step} entries",
                path,
            )
            return ()
        targets: list[Target] = []
        for index, entry in enumerate(value):
            entry_path = _join_path(path, index)
            if not isinstance(entry, Mapping):
                self.problem("bad_target", "a conditional target must be {when, step}", entry_path)
                continue
            target = self.conditional(entry, entry_path)
            if entry.get("when") is None and index < len(value) - 1:
                self.problem(
                    "default_not_last",
                    "only the last conditional target may omit when (it is the default)",
                    entry_path,
                )
            if target is not None:
                targets.append(target)
        return tuple(targets)

    def conditional(self, entry: Mapping[object, object], path: str) -> Target | None:
        self.fields(entry, _TARGET_FIELDS, path)
        when: Expression | None = None
        ok = True
        if entry.get("when") is not None:
            when = self.condition(entry["when"], _join_path(path, "when"))
            ok = when is not None
        if "step" not in entry:
            self.problem("missing_field", "step is missing", _join_path(path, "step"))
            return None
        step = self.reference(entry["step"], _join_path(path, "step"))
        if step is None or not ok:
            return None
        return Target(step, when)

    def parallel(
        self, step_id: str, data: Mapping[object, object], path: str, name: str | None
    ) -> Step:
        branches: list[Target] = []
        raw = data.get("branches")
        branches_path = _join_path(path, "branches")
        if "branches" not in data:
            self.problem("missing_field", "a parallel step needs branches", branches_path)
        elif not isinstance(raw, list):
            self.problem("bad_branch", "branches must be a list", branches_path)
        else:
            if len(raw) < 2:
                self.problem(
                    "too_few_branches",
                    f"a parallel step needs at least 2 branches, not {len(raw)}",
                    branches_path,
                )
            seen: set[str] = set()
            for index, entry in enumerate(raw):
                entry_path = _join_path(branches_path, index)
                branch: Target | None = None
                if isinstance(entry, str):
                    step = self.reference(entry, entry_path)
                    branch = Target(step) if step is not None else None
                elif isinstance(entry, Mapping):
                    branch = self.conditional(entry, entry_path)
                else:
                    self.problem(
                        "bad_branch", "a branch must be a step id or {step, when}", entry_path
                    )
                if branch is None:
                    continue
                if branch.step in seen:
                    self.problem(
                        "duplicate_branch", f"step {branch.step!r} is already a branch", entry_path
                    )
                    continue
                seen.add(branch.step)
                branches.append(branch)
        join: str | None = None
        if "join" not in data:
            self.problem("missing_field", "a parallel step needs join", _join_path(path, "join"))
        else:
            join = self.reference(data["join"], _join_path(path, "join"))
        return Step(
            id=step_id, type=StepType.PARALLEL, name=name, branches=tuple(branches), join=join
        )


# --- graph checks ---------------------------------------------------------------------------


def _scope_text(scope: tuple[str, ...]) -> str:
    if not scope:
        return "outside any parallel split"
    return "inside the branches of " + " > ".join(repr(split) for split in scope)


class _GraphCheck:
    """Checks over the parsed steps. Edges to steps that failed to parse are left out (their
    problems are already reported), and while there are such steps the checks that need the
    whole graph (unreachable_step, branch_misses_join, dead_end) are skipped."""

    def __init__(
        self, loader: _Loader, steps: Mapping[str, Step], start: str | None, *, complete: bool
    ) -> None:
        self.loader = loader
        self.complete = complete
        self.steps = steps
        self.start = start if start in steps else None
        self.edges = {
            step_id: tuple(s for s in step.successors() if s in steps)
            for step_id, step in steps.items()
        }
        self.split_of: dict[str, str] = {}  # join id -> the parallel step that names it

    def reach(self, origins: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
        seen = set(origins)
        queue = deque(seen)
        while queue:
            for following in edges.get(queue.popleft(), ()):
                if following not in seen:
                    seen.add(following)
                    queue.append(following)
        return seen

    def run(self) -> None:
        self.joins()
        if self.start is not None:
            self.scopes(self.start)
        self.automatic_loops()
        if not self.complete:
            return  # a step that could not be read may hold the missing paths: do not guess
        if self.start is not None:
            self.reachability(self.start)
        self.branches_reach_join()
        self.dead_ends()

    def joins(self) -> None:
        problem = self.loader.problem
        for step in self.steps.values():
            if step.type is not StepType.PARALLEL or step.join is None:
                continue
            path = f"steps.{step.id}.join"
            join = self.steps.get(step.join)
            if join is None:
                continue
            if join.type is not StepType.JOIN:
                problem(
                    "not_a_join", f"step {step.join!r} is a {join.type.value}, not a join", path
                )
            elif step.join in self.split_of:
                problem(
                    "shared_join",
                    f"join {step.join!r} already closes {self.split_of[step.join]!r}; "
                    "each split needs its own join",
                    path,
                )
            else:
                self.split_of[step.join] = step.id
        for step in self.steps.values():
            if step.type is StepType.JOIN and step.id not in self.split_of:
                problem(
                    "join_without_split",
                    f"no parallel step names {step.id!r} as its join",
                    f"steps.{step.id}",
                )

    def reachability(self, start: str) -> None:
        reached = self.reach([start], self.edges)
        for step_id in self.steps:
            if step_id not in reached:
                self.loader.problem(
                    "unreachable_step",
                    f"step {step_id!r} cannot be reached from start",
                    f"steps.{step_id}",
                )

    def scopes(self, start: str) -> None:
        """Give every step the stack of parallel splits it runs inside; a step must have one
        stack, and a join must be entered from inside its own split's branches."""
        scope: dict[str, tuple[str, ...]] = {start: ()}
        queue = deque([start])
        reported: set[str] = set()
        while queue:
            step = self.steps[queue.popleft()]
            stack = scope[step.id]
            following: list[tuple[str, tuple[str, ...]]] = []
            if step.type is StepType.PARALLEL:
                following = [(branch.step, (*stack, step.id)) for branch in step.branches]
            elif step.type is StepType.JOIN:
                owner = self.split_of.get(step.id)
                if owner is None:
                    continue  # join_without_split
                if not stack or stack[-1] != owner:
                    self.loader.problem(
                        "join_outside_split",
                        f"join {step.id!r} is entered {_scope_text(stack)}, not from the "
                        f"branches of {owner!r}",
                        f"steps.{step.id}",
                    )
                    continue
                if step.next is not None:
                    following = [(step.next, stack[:-1])]
            else:
                following = [(target, stack) for target in self.edges[step.id]]
            for target, target_stack in following:
                if target not in self.steps:
                    continue
                if target not in scope:
                    scope[target] = target_stack
                    queue.append(target)
                elif (
                    scope[target] != target_stack
                    and self.steps[target].type is not StepType.END  # an end ends everything
                    and target not in reported
                ):
                    reported.add(target)
                    self.loader.problem(
                        "scope_conflict",
                        f"step {target!r} is reached {_scope_text(scope[target])} and also "
                        f"{_scope_text(target_stack)}; a step belongs to one place",
                        f"steps.{target}",
                    )

    def branches_reach_join(self) -> None:
        for join_id, split_id in self.split_of.items():
            split = self.steps[split_id]
            for index, branch in enumerate(split.branches):
                if join_id not in self.reach([branch.step], self.edges):
                    self.loader.problem(
                        "branch_misses_join",
                        f"branch {branch.step!r} never reaches the join {join_id!r}",
                        f"steps.{split_id}.branches.{index}",
                    )

    def dead_ends(self) -> None:
        backwards: dict[str, list[str]] = {step_id: [] for step_id in self.steps}
        for step_id, targets in self.edges.items():
            for target in targets:
                backwards[target].append(step_id)
        ends = [step.id for step in self.steps.values() if step.type is StepType.END]
        finishing = self.reach(ends, backwards)
        for step_id in self.steps:
            if step_id not in finishing:
                self.loader.problem(
                    "dead_end", f"no end step can be reached from {step_id!r}", f"steps.{step_id}"
                )

    def automatic_loops(self) -> None:
        """Parallel and join steps pass at once; a cycle of only those would never stop."""
        automatic = {
            step_id: tuple(t for t in targets if self.steps[t].type in _AUTOMATIC)
            for step_id, targets in self.edges.items()
            if self.steps[step_id].type in _AUTOMATIC
        }
        done: set[str] = set()
        for step_id in automatic:
            if step_id in done:
                continue
            forward = self.reach(automatic[step_id], automatic)
            if step_id not in forward:
                continue
            cycle = [
                other
                for other in automatic
                if other in forward and step_id in self.reach(automatic[other], automatic)
            ]
            done.update(cycle)
            self.loader.problem(
                "automatic_loop",
                "steps "
                + ", ".join(repr(s) for s in cycle)
                + " form a loop of parallel/join steps with no task to wait at",
                f"steps.{step_id}",
            )


_AUTOMATIC: Final = frozenset({StepType.PARALLEL, StepType.JOIN})
_STEP_TYPES: Final = frozenset(member.value for member in StepType)
