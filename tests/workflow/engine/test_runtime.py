"""Running processes: tokens, conditions, parallel splits and joins, ends, errors, JSON state."""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
import random
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from onewindow.workflow.engine import (
    STATE_SCHEMA,
    Effect,
    EngineError,
    HistoryEntry,
    OpenSplit,
    ProcessDefinition,
    ProcessFinished,
    ProcessState,
    StepType,
    TaskActivated,
    TaskCancelled,
    TaskCompleted,
    Token,
    act,
    load_definition,
    start,
)

DEFINITIONS = pathlib.Path(__file__).parent / "definitions"
ROLES = frozenset({"clerk", "reviewer", "approver"})


def load(name: str) -> ProcessDefinition:
    return load_definition((DEFINITIONS / f"{name}.yaml").read_text("utf-8"), roles=ROLES)


def restored(state: ProcessState, **dumps: Any) -> ProcessState:
    return ProcessState.from_json(json.loads(json.dumps(state.to_json(), **dumps)))


def error_code(call: Callable[[], object]) -> str:
    with pytest.raises(EngineError) as info:
        call()
    return info.value.code


# --- linear processes and conditional targets -----------------------------------------------


def test_a_linear_process() -> None:
    definition = load("linear")
    variables = {"amount": 500}
    state, effects = start(definition, variables)
    assert effects == [TaskActivated("t1", "accept")]
    assert state.active_tokens == (("t1", "accept"),)
    assert (state.definition_key, state.definition_version) == ("linear_grant", 3)
    assert not state.finished
    assert state.end_step is None

    state, effects = act(definition, state, "t1", "accept", variables)
    assert effects == [
        TaskCompleted("t1", "accept", "accept", "accept"),
        TaskActivated("t2", "review"),
    ]
    state, effects = act(definition, state, "t2", "pass", variables)
    assert effects == [TaskCompleted("t2", "review", "pass", None), TaskActivated("t3", "approval")]
    state, effects = act(definition, state, "t3", "approve", variables)
    assert effects == [
        TaskCompleted("t3", "approval", "approve", "approve"),
        ProcessFinished("done"),
    ]
    assert state.finished
    assert state.end_step == "done"
    assert state.active_tokens == ()
    assert state.history == (
        HistoryEntry("t1", "accept", "accept"),
        HistoryEntry("t2", "review", "pass"),
        HistoryEntry("t3", "approval", "approve"),
    )


def test_not_accepted_ends_at_once() -> None:
    definition = load("linear")
    state, _ = start(definition, {})
    state, effects = act(definition, state, "t1", "not_accept", {})
    assert effects == [
        TaskCompleted("t1", "accept", "not_accept", "not_accept"),
        ProcessFinished("refused"),
    ]
    assert state.end_step == "refused"


@pytest.mark.parametrize(
    ("amount", "path"),
    [
        (20000, ["second_approval", "approval"]),
        (10000, ["approval"]),
        (1, ["approval"]),
    ],
)
def test_conditional_targets_take_the_first_match(amount: int, path: list[str]) -> None:
    definition = load("linear")
    variables = {"amount": amount}
    state, _ = start(definition, variables)
    state, _ = act(definition, state, "t1", "accept", variables)
    state, _ = act(definition, state, "t2", "pass", variables)
    visited = []
    while not state.finished:
        ((token_id, step),) = state.active_tokens
        visited.append(step)
        state, _ = act(definition, state, token_id, "approve", variables)
    assert visited == path


def test_no_matching_target_is_an_error_and_changes_nothing() -> None:
    definition = load("linear")
    state, _ = start(definition, {})
    state, _ = act(definition, state, "t1", "accept", {})
    before = state.to_json()
    variants: list[dict[str, object]] = [{}, {"amount": 0}, {"amount": "20000"}]
    for variables in variants:
        with pytest.raises(EngineError, match=r"\[no_target_matched\]$"):
            act(definition, state, "t2", "pass", variables)
    assert state.to_json() == before


def test_going_back_activates_a_new_token() -> None:
    definition = load("linear")
    state, _ = start(definition, {})
    state, _ = act(definition, state, "t1", "accept", {})
    state, effects = act(definition, state, "t2", "send_back", {})
    assert effects == [
        TaskCompleted("t2", "review", "send_back", None),
        TaskActivated("t3", "accept"),
    ]
    assert state.active_tokens == (("t3", "accept"),)


# --- parallel processes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("area", "reviews"), [(300, ["review_market", "review_fire"]), (200, ["review_market"])]
)
def test_a_parallel_review_joins_the_started_branches(area: int, reviews: list[str]) -> None:
    definition = load("market_license")
    variables = {"area": area}
    state, _ = start(definition, variables)
    state, effects = act(definition, state, "t1", "accept", variables)
    activated = [effect for effect in effects if isinstance(effect, TaskActivated)]
    assert [effect.step for effect in activated] == reviews
    assert [split.branches for split in state.splits] == [tuple(reviews)]
    # Finish the reviews last-first; decide comes only after the last one.
    for token_id, step in reversed(state.active_tokens):
        assert step != "decide"
        state, effects = act(definition, state, token_id, "pass", variables)
    assert effects[-1] == TaskActivated(f"t{len(reviews) + 2}", "decide")
    assert state.active_tokens == ((f"t{len(reviews) + 2}", "decide"),)
    assert state.splits == ()
    assert state.tokens[0].scopes == ()


def test_nested_splits_with_an_inclusive_branch_switched_off() -> None:
    definition = load("joint_review")
    variables = {"area": 300, "food": False, "polluting": "yes"}
    state, _ = start(definition, variables)
    state, effects = act(definition, state, "t1", "accept", variables)
    assert effects == [
        TaskCompleted("t1", "accept", "accept", "accept"),
        TaskActivated("t2", "market_review"),
        TaskActivated("t3", "fire_review"),  # health_review is off: food is false
        TaskActivated("t4", "environment_review"),
    ]
    assert state.tokens == (
        Token("t2", "market_review", ("s1",)),
        Token("t3", "fire_review", ("s1", "s2")),
        Token("t4", "environment_review", ("s1",)),
    )
    assert state.splits == (
        OpenSplit("s1", "outer", "outer_join", ("market_review", "site", "environment_review")),
        OpenSplit("s2", "site", "site_join", ("fire_review",)),
    )

    # The inner join waits for fire_review only, then site_summary continues in the outer split.
    state, effects = act(definition, state, "t3", "redo", variables)
    assert effects == [
        TaskCompleted("t3", "fire_review", "redo", None),
        TaskActivated("t5", "fire_review"),
    ]
    state, effects = act(definition, state, "t5", "pass", variables)
    assert effects == [
        TaskCompleted("t5", "fire_review", "pass", None),
        TaskActivated("t6", "site_summary"),
    ]
    assert state.token("t6") == Token("t6", "site_summary", ("s1",))
    assert [split.id for split in state.splits] == ["s1"]

    state, effects = act(definition, state, "t6", "pass", variables)
    assert effects == [TaskCompleted("t6", "site_summary", "pass", None)]
    assert state.splits[0].arrived == 1
    state, _ = act(definition, state, "t2", "pass", variables)
    assert state.splits[0].arrived == 2
    state, effects = act(definition, state, "t4", "pass", variables)
    assert effects == [
        TaskCompleted("t4", "environment_review", "pass", None),
        TaskActivated("t7", "decide"),
    ]
    assert state.tokens == (Token("t7", "decide", ()),)
    state, effects = act(definition, state, "t7", "approve", variables)
    assert effects[-1] == ProcessFinished("done")
    assert state.finished


def test_both_inner_branches_when_they_apply() -> None:
    definition = load("joint_review")
    variables = {"area": 201, "food": True}
    state, _ = start(definition, variables)
    state, _ = act(definition, state, "t1", "accept", variables)
    assert state.active_tokens == (
        ("t2", "market_review"),
        ("t3", "fire_review"),
        ("t4", "health_review"),
    )
    state, effects = act(definition, state, "t4", "pass", variables)
    assert effects == [TaskCompleted("t4", "health_review", "pass", None)]
    state, effects = act(definition, state, "t3", "pass", variables)
    assert effects[-1] == TaskActivated("t5", "site_summary")


def test_an_end_inside_a_branch_finishes_the_process_and_cancels_the_rest() -> None:
    definition = load("joint_review")
    variables = {"area": 300, "food": True, "polluting": "yes"}
    state, _ = start(definition, variables)
    state, _ = act(definition, state, "t1", "accept", variables)
    state, effects = act(definition, state, "t2", "veto", variables)
    assert effects == [
        TaskCompleted("t2", "market_review", "veto", "reject"),
        TaskCancelled("t3", "fire_review"),
        TaskCancelled("t4", "health_review"),
        TaskCancelled("t5", "environment_review"),
        ProcessFinished("vetoed"),
    ]
    assert state.finished
    assert state.end_step == "vetoed"
    assert (state.tokens, state.splits) == ((), ())
    assert error_code(lambda: act(definition, state, "t3", "pass", variables)) == "token_not_active"


INCLUSIVE = """\
key: inclusive
version: 1
start: p
steps:
  p:
    type: parallel
    branches: [{step: b, when: "x == 1"}, {step: j, when: "skip == true"}]
    join: j
  b: {role: reviewer, actions: {pass: {to: j}}}
  j: {type: join, next: done}
  done: {type: end}
"""


def test_a_split_with_no_branch_that_applies_is_an_error() -> None:
    definition = load_definition(INCLUSIVE, roles=ROLES)
    assert error_code(lambda: start(definition, {})) == "no_branch_matched"


def test_a_branch_may_go_straight_to_the_join() -> None:
    definition = load_definition(INCLUSIVE, roles=ROLES)
    state, effects = start(definition, {"x": 1, "skip": True})
    assert effects == [TaskActivated("t1", "b")]
    assert state.splits == (OpenSplit("s1", "p", "j", ("b", "j"), arrived=1),)
    state, effects = act(definition, state, "t1", "pass", {})
    assert effects == [TaskCompleted("t1", "b", "pass", None), ProcessFinished("done")]
    # Only the empty branch applies: the join completes at once.
    state, effects = start(definition, {"skip": True})
    assert effects == [ProcessFinished("done")]
    assert state.finished


# --- errors and purity ----------------------------------------------------------------------


def test_errors() -> None:
    definition = load("linear")
    state, _ = start(definition, {})
    assert error_code(lambda: act(definition, state, "t9", "accept", {})) == "token_not_active"
    assert error_code(lambda: act(definition, state, "", "accept", {})) == "token_not_active"
    assert error_code(lambda: act(definition, state, "t1", "approve", {})) == "unknown_action"
    after, _ = act(definition, state, "t1", "accept", {})
    # Acting twice on the same token: the second action finds it gone.
    assert error_code(lambda: act(definition, after, "t1", "accept", {})) == "token_not_active"
    assert error_code(lambda: act(load("market_license"), state, "t1", "accept", {})) == (
        "definition_mismatch"
    )
    text = (DEFINITIONS / "linear.yaml").read_text("utf-8").replace("version: 3", "version: 4")
    newer = load_definition(text, roles=ROLES)
    assert error_code(lambda: act(newer, state, "t1", "accept", {})) == "definition_mismatch"
    # A state whose token sits on a step the definition does not have.
    odd = dataclasses.replace(state, tokens=(Token("t1", "vanished"),))
    assert error_code(lambda: act(definition, odd, "t1", "accept", {})) == "definition_mismatch"
    message = str(EngineError("unknown_action", "step 'accept' has no action 'x'"))
    assert message == "step 'accept' has no action 'x' [unknown_action]"


def test_act_changes_none_of_its_inputs() -> None:
    definition = load("joint_review")
    variables = {"area": 300, "food": True, "nested": {"a": [1]}}
    frozen_variables = copy.deepcopy(variables)
    state, _ = start(definition, variables)
    state, _ = act(definition, state, "t1", "accept", variables)
    before = state.to_json()
    definition_before = load("joint_review")
    act(definition, state, "t2", "veto", variables)
    act(definition, state, "t3", "pass", variables)
    assert state.to_json() == before
    assert variables == frozen_variables
    assert definition == definition_before
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.finished = True  # type: ignore[misc]


# --- the state as JSON ----------------------------------------------------------------------


Policy = Callable[[str, int], str]


def joint_policy(step: str, visits: int) -> str:
    """fire_review asks for a redo once; everything else passes or approves."""
    if step == "fire_review" and visits == 1:
        return "redo"
    return {"accept": "accept", "decide": "approve", "conclude": "complete"}.get(step, "pass")


def drive(
    definition: ProcessDefinition,
    variables: Mapping[str, object],
    policy: Policy,
    *,
    serialise: bool,
) -> tuple[ProcessState, list[list[Effect]]]:
    """Run to the end, always acting on the newest token; optionally save and restore the
    state through JSON after every step, checking the round trip is exact."""
    state, effects = start(definition, variables)
    log = [effects]
    visits: dict[str, int] = {}
    while not state.finished:
        if serialise:
            copy_ = restored(state, ensure_ascii=False, sort_keys=True)
            assert copy_ == state
            assert copy_.to_json() == state.to_json()
            state = copy_
        token_id, step = state.active_tokens[-1]
        visits[step] = visits.get(step, 0) + 1
        state, effects = act(definition, state, token_id, policy(step, visits[step]), variables)
        log.append(effects)
        assert len(log) < 100
    if serialise:
        assert restored(state) == state
    return state, log


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("joint_review", {"area": 300, "food": True, "polluting": "yes"}),
        ("joint_review", {"area": 300, "food": False}),
        ("joint_review", {"area": 10}),
        ("market_license", {"area": 250}),
    ],
)
def test_saving_and_restoring_the_state_at_every_step_changes_nothing(
    name: str, variables: dict[str, object]
) -> None:
    definition = load(name)
    plain_state, plain_log = drive(definition, variables, joint_policy, serialise=False)
    saved_state, saved_log = drive(definition, variables, joint_policy, serialise=True)
    assert saved_log == plain_log
    assert saved_state == plain_state
    assert saved_state.finished
    assert len(plain_log) > 3


def test_the_json_of_a_running_parallel_process() -> None:
    definition = load("joint_review")
    variables = {"area": 300}
    state, _ = start(definition, variables)
    state, _ = act(definition, state, "t1", "accept", variables)
    assert state.to_json() == {
        "schema": STATE_SCHEMA,
        "definition_key": "joint_review",
        "definition_version": 2,
        "tokens": [
            {"id": "t2", "step": "market_review", "scopes": ["s1"]},
            {"id": "t3", "step": "fire_review", "scopes": ["s1", "s2"]},
        ],
        "splits": [
            {
                "id": "s1",
                "step": "outer",
                "join": "outer_join",
                "branches": ["market_review", "site"],
                "arrived": 0,
            },
            {
                "id": "s2",
                "step": "site",
                "join": "site_join",
                "branches": ["fire_review"],
                "arrived": 0,
            },
        ],
        "token_counter": 3,
        "split_counter": 2,
        "finished": False,
        "end_step": None,
        "history": [{"token": "t1", "step": "accept", "action": "accept"}],
    }
    assert restored(state) == state


def running_json() -> dict[str, Any]:
    definition = load("joint_review")
    state, _ = start(definition, {"area": 300})
    state, _ = act(definition, state, "t1", "accept", {"area": 300})
    return json.loads(json.dumps(state.to_json()))


def test_from_json_rejects_other_schema_versions() -> None:
    data = running_json()
    for schema in (2, 0, -1):
        data["schema"] = schema
        with pytest.raises(EngineError, match=r"\[state_version\]$"):
            ProcessState.from_json(data)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(name)


JUNK: list[Any] = [
    pytest.param(_set("schema", "1"), id="schema-as-text"),
    pytest.param(_set("schema", True), id="schema-as-bool"),
    pytest.param(_drop("schema"), id="no-schema"),
    pytest.param(_drop("history"), id="missing-field"),
    pytest.param(_set("colour", "red"), id="extra-field"),
    pytest.param(_set("definition_key", "Joint Review"), id="bad-key"),
    pytest.param(_set("definition_version", 0), id="version-zero"),
    pytest.param(_set("definition_version", True), id="version-bool"),
    pytest.param(_set("tokens", {}), id="tokens-not-a-list"),
    pytest.param(_set("tokens.0", ["t2", "market_review"]), id="token-not-an-object"),
    pytest.param(_set("tokens.0.id", "x2"), id="bad-token-id"),
    pytest.param(_set("tokens.0.id", "t9"), id="token-beyond-counter"),
    pytest.param(_set("tokens.0.id", "t3"), id="duplicate-token"),
    pytest.param(_set("tokens.0.step", ""), id="empty-step"),
    pytest.param(_set("tokens.0.step", 5), id="step-not-text"),
    pytest.param(_set("tokens.0.scopes", "s1"), id="scopes-not-a-list"),
    pytest.param(_set("tokens.0.scopes", ["s7"]), id="scope-not-open"),
    pytest.param(_set("tokens.0.extra", 1), id="token-extra-field"),
    pytest.param(_set("splits.0.arrived", 2), id="split-all-arrived"),
    pytest.param(_set("splits.0.arrived", -1), id="split-negative"),
    pytest.param(_set("splits.0.id", "s2"), id="duplicate-split"),
    pytest.param(_set("splits.1.branches", []), id="split-without-branches"),
    pytest.param(_set("token_counter", -1), id="negative-counter"),
    pytest.param(_set("token_counter", 2.5), id="float-counter"),
    pytest.param(_set("finished", 1), id="finished-not-bool"),
    pytest.param(_set("finished", True), id="finished-with-tokens"),
    pytest.param(_set("end_step", "done"), id="end-step-while-running"),
    pytest.param(_set("tokens", []), id="running-without-tokens"),
    pytest.param(_set("history.0.token", "t99"), id="history-unknown-token"),
    pytest.param(_set("history", [["t1", "accept", "accept"]]), id="history-as-lists"),
]


@pytest.mark.parametrize("change", JUNK)
def test_from_json_rejects_junk(change: Callable[[dict[str, Any]], None]) -> None:
    data = running_json()
    ProcessState.from_json(data)  # the untouched data is fine
    change(data)
    assert error_code(lambda: ProcessState.from_json(data)) == "state_invalid"


@pytest.mark.parametrize("data", [None, [], "state", 1, {}, {"schema": None}])
def test_from_json_rejects_things_that_are_not_states(data: object) -> None:
    assert error_code(lambda: ProcessState.from_json(data)) == "state_invalid"


# --- random walks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["joint_review", "market_license", "linear"])
def test_random_walks_keep_the_invariants(name: str) -> None:
    definition = load(name)
    rng = random.Random(1)  # noqa: S311 - not cryptographic
    finished = 0
    for _ in range(150):
        variables = {
            "area": rng.choice([50, 201, 500]),
            "food": rng.choice([True, False]),
            "polluting": rng.choice(["yes", "no"]),
            "amount": rng.choice([1, 20000]),
        }
        state, effects = start(definition, variables)
        seen = {effect.token for effect in effects if isinstance(effect, TaskActivated)}
        for _ in range(40):
            check_invariants(definition, state)
            if state.finished:
                finished += 1
                break
            token_id, step = rng.choice(state.active_tokens)
            action = rng.choice(list(definition.step(step).actions))
            if not any(t.matches(variables) for t in definition.step(step).actions[action].to):
                with pytest.raises(EngineError, match=r"\[no_target_matched\]$"):
                    act(definition, state, token_id, action, variables)
                continue
            after, effects = act(definition, state, token_id, action, variables)
            before_ids = {token.id for token in state.tokens}
            after_ids = {token.id for token in after.tokens}
            activated = [e.token for e in effects if isinstance(e, TaskActivated)]
            cancelled = {e.token for e in effects if isinstance(e, TaskCancelled)}
            assert effects[0] == TaskCompleted(
                token_id, step, action, definition.step(step).actions[action].effect
            )
            assert not seen & set(activated), "token ids are never reused"
            seen.update(activated)
            assert after_ids == (before_ids - {token_id} | set(activated)) - cancelled
            assert after.finished == any(isinstance(e, ProcessFinished) for e in effects)
            assert restored(after) == after
            state = after
    assert finished > 50


def check_invariants(definition: ProcessDefinition, state: ProcessState) -> None:
    for token in state.tokens:
        assert definition.step(token.step).type is StepType.TASK
        assert set(token.scopes) <= {split.id for split in state.splits}
    for split in state.splits:
        assert definition.step(split.step).join == split.join
        assert split.arrived < len(split.branches)
    if state.finished:
        assert state.active_tokens == ()
        assert state.splits == ()
        assert state.end_step is not None
        assert definition.step(state.end_step).type is StepType.END
    else:
        assert state.active_tokens
        assert state.end_step is None
