"""Running a process (流程运行): pure functions from a state and an action to a new state.

:func:`start` and :func:`act` never change their inputs. They return the new
:class:`~.state.ProcessState` and the list of effects, in the order they happened, for the app
to turn into work items, timers and status changes:

* :class:`TaskActivated` - a task step now waits for someone (create the work item);
* :class:`TaskCompleted` - the token's action was taken (close the work item);
* :class:`TaskCancelled` - the process ended while this task still waited (withdraw it);
* :class:`ProcessFinished` - an end step was reached.

Rules (``docs/process-definitions.md`` has the long form): only task steps wait; parallel, join
and end steps are passed at once. Each activation of a task gets a new token id (``t1``,
``t2`` ...). A parallel step starts one branch per branch whose ``when`` holds (at least one
must) and records an open split (``s1`` ...); its join continues once every *started* branch
has arrived. Reaching any end step finishes the whole process: every other waiting token is
cancelled and branches not yet started are not started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeAlias

from onewindow.workflow.engine.definition import Action, ProcessDefinition, Step, StepType
from onewindow.workflow.engine.state import (
    EngineError,
    HistoryEntry,
    OpenSplit,
    ProcessState,
    Token,
)


@dataclass(frozen=True, slots=True)
class TaskActivated:
    token: str
    step: str


@dataclass(frozen=True, slots=True)
class TaskCompleted:
    token: str
    step: str
    action: str
    effect: str | None


@dataclass(frozen=True, slots=True)
class TaskCancelled:
    token: str
    step: str


@dataclass(frozen=True, slots=True)
class ProcessFinished:
    end_step: str


Effect: TypeAlias = TaskActivated | TaskCompleted | TaskCancelled | ProcessFinished


def start(
    definition: ProcessDefinition, variables: Mapping[str, object]
) -> tuple[ProcessState, list[Effect]]:
    """A new process at the definition's start step (passing any automatic steps)."""
    run = _Run(definition, ProcessState(definition.key, definition.version))
    run.enter(definition.start, (), variables)
    return run.freeze(), run.effects


def act(
    definition: ProcessDefinition,
    state: ProcessState,
    token_id: str,
    action: str,
    variables: Mapping[str, object],
) -> tuple[ProcessState, list[Effect]]:
    """Take ``action`` on the task waiting under ``token_id`` and move on as far as possible.

    ``variables`` (form answers and the like) decide conditional targets and branches. Raises
    :class:`EngineError`: ``definition_mismatch`` (another definition, or a step it lacks),
    ``token_not_active``, ``unknown_action``, ``no_target_matched``, ``no_branch_matched``.
    """
    if (state.definition_key, state.definition_version) != (definition.key, definition.version):
        raise EngineError(
            "definition_mismatch",
            f"the state runs on {state.definition_key} v{state.definition_version}, "
            f"not {definition.key} v{definition.version}",
        )
    token = state.token(token_id) if isinstance(token_id, str) else None
    if token is None:
        detail = " (the process has finished)" if state.finished else ""
        raise EngineError("token_not_active", f"token {token_id!r} is not active{detail}")
    step = _step(definition, token.step)
    if step.type is not StepType.TASK:
        raise EngineError("definition_mismatch", f"step {step.id!r} is not a task")
    chosen: Action | None = step.actions.get(action) if isinstance(action, str) else None
    if chosen is None:
        raise EngineError(
            "unknown_action",
            f"step {step.id!r} has no action {action!r} (it has: {', '.join(step.actions)})",
        )
    target = next((t for t in chosen.to if t.matches(variables)), None)
    if target is None:
        raise EngineError(
            "no_target_matched",
            f"no target of action {chosen.name!r} at step {step.id!r} matches",
        )
    run = _Run(definition, state)
    run.complete(token, chosen)
    run.enter(target.step, token.scopes, variables)
    return run.freeze(), run.effects


def _step(definition: ProcessDefinition, step_id: str) -> Step:
    step = definition.steps.get(step_id)
    if step is None:
        raise EngineError(
            "definition_mismatch", f"{definition.key} v{definition.version} has no step {step_id!r}"
        )
    return step


class _Run:
    """The mutable working copy of one start/act call."""

    def __init__(self, definition: ProcessDefinition, state: ProcessState) -> None:
        self.definition = definition
        self.state = state
        self.tokens = list(state.tokens)
        self.splits = {split.id: split for split in state.splits}
        self.token_counter = state.token_counter
        self.split_counter = state.split_counter
        self.finished = state.finished
        self.end_step = state.end_step
        self.history = list(state.history)
        self.effects: list[Effect] = []

    def freeze(self) -> ProcessState:
        return replace(
            self.state,
            tokens=tuple(self.tokens),
            splits=tuple(self.splits.values()),
            token_counter=self.token_counter,
            split_counter=self.split_counter,
            finished=self.finished,
            end_step=self.end_step,
            history=tuple(self.history),
        )

    def complete(self, token: Token, action: Action) -> None:
        self.tokens.remove(token)
        self.history.append(HistoryEntry(token.id, token.step, action.name))
        self.effects.append(TaskCompleted(token.id, token.step, action.name, action.effect))

    def enter(self, step_id: str, scopes: tuple[str, ...], variables: Mapping[str, object]) -> None:
        """Arrive at a step and pass automatic steps depth first, branch by branch, until
        every path waits at a task or the process has finished."""
        pending: list[tuple[str, tuple[str, ...]]] = [(step_id, scopes)]
        while pending and not self.finished:
            step_id, scopes = pending.pop()
            step = _step(self.definition, step_id)
            if step.type is StepType.TASK:
                self.token_counter += 1
                token = Token(f"t{self.token_counter}", step.id, scopes)
                self.tokens.append(token)
                self.effects.append(TaskActivated(token.id, step.id))
            elif step.type is StepType.END:
                self.finish(step.id)
            elif step.type is StepType.PARALLEL:
                started = [branch.step for branch in step.branches if branch.matches(variables)]
                if not started:
                    raise EngineError(
                        "no_branch_matched", f"no branch of parallel step {step.id!r} applies"
                    )
                if step.join is None:  # a loaded definition always has one
                    raise EngineError("definition_mismatch", f"{step.id!r} has no join")
                self.split_counter += 1
                split = OpenSplit(f"s{self.split_counter}", step.id, step.join, tuple(started))
                self.splits[split.id] = split
                inner = (*scopes, split.id)
                pending.extend((branch, inner) for branch in reversed(started))
            else:
                self.arrive(step, scopes, pending)

    def arrive(
        self, join: Step, scopes: tuple[str, ...], pending: list[tuple[str, tuple[str, ...]]]
    ) -> None:
        split = self.splits.get(scopes[-1]) if scopes else None
        if split is None or split.join != join.id or join.next is None:
            raise EngineError(
                "state_invalid", f"join {join.id!r} reached outside the split it closes"
            )
        if split.arrived + 1 < len(split.branches):
            self.splits[split.id] = replace(split, arrived=split.arrived + 1)
            return
        del self.splits[split.id]
        pending.append((join.next, scopes[:-1]))

    def finish(self, end_step: str) -> None:
        for token in self.tokens:
            self.effects.append(TaskCancelled(token.id, token.step))
        self.tokens.clear()
        self.splits.clear()
        self.finished = True
        self.end_step = end_step
        self.effects.append(ProcessFinished(end_step))
