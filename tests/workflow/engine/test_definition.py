"""Process definitions: the examples load, every validation code fires, results are frozen."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import textwrap
from types import MappingProxyType

import pytest
import yaml

from onewindow.workflow.engine import (
    ENGINE_ERROR_CODES,
    PROBLEM_CODES,
    DefinitionError,
    Problem,
    ProcessDefinition,
    StepType,
    Target,
    load_definition,
)

DEFINITIONS = pathlib.Path(__file__).parent / "definitions"
DOC = pathlib.Path(__file__).parents[3] / "docs" / "process-definitions.md"
ROLES = frozenset({"clerk", "reviewer", "approver"})


def load(name: str) -> ProcessDefinition:
    return load_definition((DEFINITIONS / f"{name}.yaml").read_text("utf-8"), roles=ROLES)


def problems(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as info:
        load_definition(textwrap.dedent(text), roles=ROLES)
    return info.value.problems


def codes(text: str) -> set[str]:
    return {problem.code for problem in problems(text)}


# --- good definitions -----------------------------------------------------------------------


def test_the_documented_example_loads() -> None:
    definition = load("market_license")
    assert definition.key == "market_license"
    assert definition.version == 1
    assert definition.name == "食品经营许可"
    assert definition.start == "accept"
    assert list(definition.steps)[:3] == ["accept", "split", "review_market"]

    accept = definition.step("accept")
    assert accept.type is StepType.TASK
    assert accept.department == "owner"
    assert accept.role == "clerk"
    assert accept.time_limit == 1
    assert accept.lifecycle == frozenset({"supplement"})
    assert list(accept.actions) == ["accept", "not_accept"]
    not_accept = accept.actions["not_accept"]
    assert not_accept.effect == "not_accept"
    assert not_accept.opinion_required
    assert not_accept.label == "不予受理"
    assert not_accept.to == (Target("end_not_accepted"),)
    assert not accept.actions["accept"].opinion_required

    split = definition.step("split")
    assert split.type is StepType.PARALLEL
    assert split.join == "join1"
    assert [branch.step for branch in split.branches] == ["review_market", "review_fire"]
    assert split.branches[0].when is None
    fire = split.branches[1]
    assert fire.when is not None
    assert fire.when.source == "area > 200"
    assert fire.matches({"area": 201})
    assert not fire.matches({"area": 200})
    assert not fire.matches({})

    assert definition.step("review_fire").department == "990100-XFJ"
    assert definition.step("join1").next == "decide"
    assert definition.step("decide").actions["approve"].effect == "approve"
    assert definition.step("done").type is StepType.END
    assert definition.step("conclude").time_limit is None
    with pytest.raises(KeyError):
        definition.step("nowhere")


@pytest.mark.parametrize("name", ["market_license", "linear", "joint_review"])
def test_example_definitions_load(name: str) -> None:
    assert load(name).steps


def test_a_parsed_mapping_loads_like_text() -> None:
    text = (DEFINITIONS / "market_license.yaml").read_text("utf-8")
    assert load_definition(yaml.safe_load(text), roles=ROLES) == load_definition(text, roles=ROLES)


def test_definitions_are_immutable() -> None:
    definition = load("market_license")
    assert isinstance(definition.steps, MappingProxyType)
    assert isinstance(definition.step("accept").actions, MappingProxyType)
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.start = "decide"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.step("accept").role = "approver"  # type: ignore[misc]
    with pytest.raises(TypeError):
        definition.steps["x"] = definition.step("accept")  # type: ignore[index]
    with pytest.raises(TypeError):
        del definition.step("accept").actions["accept"]  # type: ignore[attr-defined]
    assert isinstance(definition.step("split").branches, tuple)
    assert isinstance(definition.step("accept").actions["accept"].to, tuple)


def test_task_defaults() -> None:
    definition = load_definition(
        "key: k\nversion: 1\nstart: a\nsteps:\n"
        "  a: {role: clerk, actions: {go: {to: done}}}\n  done: {type: end}\n",
        roles=ROLES,
    )
    step = definition.step("a")
    assert step.type is StepType.TASK
    assert step.department == "owner"
    assert step.time_limit is None
    assert step.lifecycle == frozenset()
    action = step.actions["go"]
    assert (action.effect, action.opinion, action.label) == (None, "optional", None)
    assert definition.name is None


def test_roles_come_from_the_caller() -> None:
    text = (DEFINITIONS / "market_license.yaml").read_text("utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(text, roles={"clerk", "reviewer"})
    assert {(p.code, p.path) for p in info.value.problems} == {
        ("unknown_role", "steps.decide.role")
    }


# --- one minimal broken definition per problem code -----------------------------------------

HEAD = "key: k\nversion: 1\nstart: a\n"
END = "  done: {type: end}\n"
TASK_A = "  a: {role: clerk, actions: {go: {to: done}}}\n"


def task(body: str) -> str:
    """A definition whose step ``a`` is a task with these extra fields, going to done."""
    return HEAD + "steps:\n  a: {role: clerk, actions: {go: {to: done}}, " + body + "}\n" + END


def action(body: str) -> str:
    """A definition whose step ``a`` has one action ``go`` with these fields."""
    return HEAD + "steps:\n  a: {role: clerk, actions: {go: {" + body + "}}}\n" + END


def split(branches: str, *, extra: str = "") -> str:
    """a -> split p (branches ...) -> join j -> done; b and c are tasks going to j."""
    return (
        HEAD
        + "steps:\n"
        + "  a: {role: clerk, actions: {go: {to: p}}}\n"
        + f"  p: {{type: parallel, branches: {branches}, join: j}}\n"
        + "  b: {role: reviewer, actions: {pass: {to: j}}}\n"
        + "  c: {role: reviewer, actions: {pass: {to: j}}}\n"
        + "  j: {type: join, next: done}\n"
        + extra
        + END
    )


CASES = [
    pytest.param("yaml_syntax", "key: [unclosed\n", id="yaml_syntax"),
    pytest.param("not_a_mapping", "- key\n- version\n", id="not_a_mapping"),
    pytest.param(
        "unknown_field", HEAD + "colour: red\nsteps:\n" + TASK_A + END, id="unknown_field"
    ),
    pytest.param("missing_field", "key: k\nstart: a\nsteps:\n" + TASK_A + END, id="missing_field"),
    pytest.param(
        "bad_key",
        "key: Market-License\nversion: 1\nstart: a\nsteps:\n" + TASK_A + END,
        id="bad_key",
    ),
    pytest.param(
        "bad_version", "key: k\nversion: 0\nstart: a\nsteps:\n" + TASK_A + END, id="bad_version"
    ),
    pytest.param(
        "bad_id",
        HEAD + "steps:\n  a: {role: clerk, actions: {Go On: {to: done}}}\n" + END,
        id="bad_id",
    ),
    pytest.param("bad_text", task("department: ''"), id="bad_text"),
    pytest.param(
        "bad_reference",
        "key: k\nversion: 1\nstart: [a]\nsteps:\n" + TASK_A + END,
        id="bad_reference",
    ),
    pytest.param("unknown_step", action("to: nowhere"), id="unknown_step"),
    pytest.param(
        "unknown_step_type",
        HEAD + "steps:\n" + TASK_A + "  done: {type: finish}\n",
        id="unknown_step_type",
    ),
    pytest.param(
        "unknown_role",
        HEAD + "steps:\n  a: {role: janitor, actions: {go: {to: done}}}\n" + END,
        id="unknown_role",
    ),
    pytest.param("unknown_effect", action("effect: approved, to: done"), id="unknown_effect"),
    pytest.param(
        "unknown_lifecycle", task("lifecycle: [supplement, pause]"), id="unknown_lifecycle"
    ),
    pytest.param("bad_opinion", action("opinion: maybe, to: done"), id="bad_opinion"),
    pytest.param("bad_time_limit", task("time_limit: -1"), id="bad_time_limit"),
    pytest.param("bad_condition", action("to: [{when: 'area >', step: done}]"), id="bad_condition"),
    pytest.param("bad_target", action("to: []"), id="bad_target"),
    pytest.param(
        "default_not_last",
        action("to: [{step: done}, {when: 'area > 1', step: done}]"),
        id="default_not_last",
    ),
    pytest.param("bad_branch", split("[b, 5]"), id="bad_branch"),
    pytest.param("too_few_branches", split("[b]"), id="too_few_branches"),
    pytest.param("duplicate_branch", split("[b, c, b]"), id="duplicate_branch"),
    pytest.param(
        "end_with_actions",
        HEAD + "steps:\n" + TASK_A + "  done: {type: end, actions: {go: {to: a}}}\n",
        id="end_with_actions",
    ),
    pytest.param(
        "not_a_join",
        HEAD
        + "steps:\n  a: {role: clerk, actions: {go: {to: p}}}\n"
        + "  p: {type: parallel, branches: [b, c], join: d}\n"
        + "  b: {role: reviewer, actions: {pass: {to: d}}}\n"
        + "  c: {role: reviewer, actions: {pass: {to: d}}}\n"
        + "  d: {role: approver, actions: {go: {to: done}}}\n"
        + END,
        id="not_a_join",
    ),
    pytest.param(
        "shared_join",
        split(
            "[b, c]",
            extra="  q: {type: parallel, branches: [b, c], join: j}\n"
            "  x: {role: clerk, actions: {go: {to: q}}}\n",
        ).replace("go: {to: p}", "go: {to: p}, other: {to: x}"),
        id="shared_join",
    ),
    pytest.param(
        "join_without_split",
        HEAD
        + "steps:\n  a: {role: clerk, actions: {go: {to: j}}}\n  j: {type: join, next: done}\n"
        + END,
        id="join_without_split",
    ),
    pytest.param(
        "join_outside_split",
        split("[b, c]").replace("go: {to: p}", "go: {to: p}, skip: {to: j}"),
        id="join_outside_split",
    ),
    pytest.param(
        "branch_misses_join",
        split("[b, c]").replace("c: {role: reviewer, actions: {pass: {to: j}}}", "c: {type: end}"),
        id="branch_misses_join",
    ),
    pytest.param(
        "scope_conflict",
        split("[b, c]").replace("go: {to: p}", "go: {to: p}, direct: {to: c}"),
        id="scope_conflict",
    ),
    pytest.param(
        "unreachable_step",
        HEAD + "steps:\n" + TASK_A + "  lost: {role: clerk, actions: {go: {to: done}}}\n" + END,
        id="unreachable_step",
    ),
    pytest.param(
        "dead_end",
        HEAD
        + "steps:\n  a: {role: clerk, actions: {go: {to: b}, stop: {to: done}}}\n"
        + "  b: {role: clerk, actions: {again: {to: b}}}\n"
        + END,
        id="dead_end",
    ),
    pytest.param(
        "automatic_loop",
        split("[b, j]")
        .replace("next: done", "next: p")
        .replace(
            "b: {role: reviewer, actions: {pass: {to: j}}}",
            "b: {role: reviewer, actions: {pass: {to: j}, stop: {to: done}}}",
        ),
        id="automatic_loop",
    ),
]


def test_every_problem_code_has_a_case() -> None:
    assert {case.values[0] for case in CASES} == PROBLEM_CODES


@pytest.mark.parametrize(("code", "text"), CASES)
def test_problem_code(code: str, text: str) -> None:
    found = problems(text)
    assert code in {problem.code for problem in found}, found
    assert {problem.code for problem in found} <= PROBLEM_CODES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (action("to: nowhere"), {("unknown_step", "steps.a.actions.go.to")}),
        (task("time_limit: '3 days'"), {("bad_time_limit", "steps.a.time_limit")}),
        (task("time_limit: true"), {("bad_time_limit", "steps.a.time_limit")}),
        (task("lifecycle: supplement"), {("unknown_lifecycle", "steps.a.lifecycle")}),
        (task("lifecycle: [pause]"), {("unknown_lifecycle", "steps.a.lifecycle.0")}),
        (action("to: 5"), {("bad_target", "steps.a.actions.go.to")}),
        (action("to: [done]"), {("bad_target", "steps.a.actions.go.to.0")}),
        (action("to: [{when: 'x'}]"), {("missing_field", "steps.a.actions.go.to.0.step")}),
        (
            action("to: [{when: yes, step: done}]"),
            {("bad_condition", "steps.a.actions.go.to.0.when")},
        ),
        (action("to: [{step: done, if: x}]"), {("unknown_field", "steps.a.actions.go.to.0.if")}),
        (action("label: 通过"), {("missing_field", "steps.a.actions.go.to")}),
        (action("to: done, colour: red"), {("unknown_field", "steps.a.actions.go.colour")}),
        (task("branches: [a]"), {("unknown_field", "steps.a.branches")}),
        (
            HEAD + "steps:\n  a: {role: clerk}\n" + END,
            {("missing_field", "steps.a.actions")},
        ),
        (
            HEAD + "steps:\n  a: {actions: {go: {to: done}}}\n" + END,
            {("missing_field", "steps.a.role")},
        ),
        (
            HEAD + "steps:\n  a: {role: clerk, actions: {}}\n" + END,
            {("missing_field", "steps.a.actions")},
        ),
        (
            HEAD + "steps:\n  a: {role: clerk, actions: {go: done}}\n" + END,
            {("not_a_mapping", "steps.a.actions.go")},
        ),
        (HEAD + "steps: []\n", {("not_a_mapping", "steps")}),
        (HEAD + "steps: {a: 5}\n", {("not_a_mapping", "steps.a")}),
        ("key: k\nversion: 1\nsteps:\n" + TASK_A + END, {("missing_field", "start")}),
        ("key: k\nversion: true\nstart: a\nsteps:\n" + TASK_A + END, {("bad_version", "version")}),
        ("key: k\nversion: '1'\nstart: a\nsteps:\n" + TASK_A + END, {("bad_version", "version")}),
        ("key: k\nversion: 1\nstart: b\nsteps:\n" + TASK_A + END, {("unknown_step", "start")}),
        (
            split("[b, c]").replace("next: done", "next: nowhere"),
            {("unknown_step", "steps.j.next")},
        ),
        (split("[b, c]").replace("next: done", ""), {("missing_field", "steps.j.next")}),
        (split("[b, c]").replace(", join: j", ""), {("missing_field", "steps.p.join")}),
        (split("[b, c]").replace("join: j", "join: nowhere"), {("unknown_step", "steps.p.join")}),
        (split("[b, {when: 'x > 1'}]"), {("missing_field", "steps.p.branches.1.step")}),
        (split("[b, {step: c, when: 'x >'}]"), {("bad_condition", "steps.p.branches.1.when")}),
    ],
)
def test_problem_paths(text: str, expected: set[tuple[str, str]]) -> None:
    assert {(problem.code, problem.path) for problem in problems(text)} >= expected


@pytest.mark.parametrize(
    "text",
    ["", "~\n", "just text\n", "42\n"],
    ids=["empty", "null", "scalar", "number"],
)
def test_a_document_must_be_a_mapping(text: str) -> None:
    assert [problem.code for problem in problems(text)] == ["not_a_mapping"]


def test_minimal_cases_report_only_their_problem() -> None:
    """The cases above do not drown their problem in follow-up noise."""
    assert codes(task("time_limit: -1")) == {"bad_time_limit"}
    assert codes(action("effect: approved, to: done")) == {"unknown_effect"}
    assert codes(split("[b]")) == {"too_few_branches", "unreachable_step"}
    assert codes(HEAD + "steps:\n" + TASK_A + "  done: {type: finish}\n") == {"unknown_step_type"}


def test_a_good_minimal_split_loads() -> None:
    definition = load_definition(split("[b, {step: c, when: 'area > 200'}]"), roles=ROLES)
    assert definition.step("p").branches[1].step == "c"
    # A branch may go straight to the join (an empty branch of an inclusive gateway).
    load_definition(
        split("[b, {step: j, when: 'area > 200'}]").replace("  c:", "  # c:"), roles=ROLES
    )


def test_the_end_may_be_reached_from_inside_a_branch() -> None:
    text = split("[b, c]").replace(
        "pass: {to: j}}}\n  j:", "pass: {to: j}, veto: {to: done}}}\n  j:"
    )
    assert load_definition(text, roles=ROLES).step("c").actions["veto"].to == (Target("done"),)


def test_nested_splits_need_their_own_scopes() -> None:
    definition = load("joint_review")
    assert definition.step("site").join == "site_join"
    # Jumping from the inner split's branch straight to the outer join skips the inner join.
    text = (DEFINITIONS / "joint_review.yaml").read_text("utf-8")
    broken = text.replace("redo: {to: fire_review}", "redo: {to: outer_join}")
    with pytest.raises(DefinitionError) as info:
        load_definition(broken, roles=ROLES)
    found = {(p.code, p.path) for p in info.value.problems}
    # Depending on which way the check meets outer_join first, it is one or the other.
    assert found & {
        ("join_outside_split", "steps.outer_join"),
        ("scope_conflict", "steps.outer_join"),
    }


def test_many_problems_are_reported_together() -> None:
    text = """\
        key: Bad Key
        version: -3
        start: accept
        steps:
          accept:
            role: janitor
            time_limit: soon
            lifecycle: [pause]
            actions:
              accept: {effect: accepted, opinion: maybe, to: revew}
              check: {to: [{step: done}, {when: "x >", step: done}]}
          review:
            role: reviewer
            actions: {pass: {to: done}}
          done: {type: end, actions: {again: {to: accept}}}
        """
    found = problems(text)
    assert {(p.code, p.path) for p in found} >= {
        ("bad_key", "key"),
        ("bad_version", "version"),
        ("unknown_role", "steps.accept.role"),
        ("bad_time_limit", "steps.accept.time_limit"),
        ("unknown_lifecycle", "steps.accept.lifecycle.0"),
        ("unknown_effect", "steps.accept.actions.accept.effect"),
        ("bad_opinion", "steps.accept.actions.accept.opinion"),
        ("unknown_step", "steps.accept.actions.accept.to"),
        ("default_not_last", "steps.accept.actions.check.to.0"),
        ("bad_condition", "steps.accept.actions.check.to.1.when"),
        ("end_with_actions", "steps.done.actions"),
        ("unreachable_step", "steps.review"),
    }
    message = str(DefinitionError(found))
    assert message.startswith(f"process definition has {len(found)} problems:")
    assert "- steps.accept.role: unknown role 'janitor'" in message
    assert "[unknown_role]" in message
    assert message.count("\n- ") == len(found)


def test_yaml_errors_say_where() -> None:
    (problem,) = problems("key: k\nsteps:\n  a: [unclosed\n")
    assert problem.code == "yaml_syntax"
    assert problem.path == ""
    assert "line" in problem.message


# --- the library stays pure and documented --------------------------------------------------


def test_the_engine_imports_nothing_from_django() -> None:
    code = (
        "import sys, onewindow.workflow.engine\n"
        "allowed = {'onewindow', 'onewindow.kit', 'onewindow.kit.expressions',"
        " 'onewindow.workflow'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'django'"
        " or (m.split('.')[0] == 'onewindow' and m not in allowed"
        " and not m.startswith('onewindow.workflow.engine')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_code_is_documented() -> None:
    doc = DOC.read_text("utf-8")
    missing = [
        code for code in sorted(PROBLEM_CODES | ENGINE_ERROR_CODES) if f"`{code}`" not in doc
    ]
    assert not missing
