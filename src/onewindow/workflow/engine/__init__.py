"""The workflow engine (流程引擎): process definitions and their runtime, as a pure library.

It imports nothing from Django or the project's apps (only ``onewindow.kit.expressions`` and
PyYAML), so it can be tested and reasoned about on its own; the ``workflow`` app stores the
state and turns the effects into work items. Format and rules: ``docs/process-definitions.md``.
"""

from onewindow.workflow.engine.definition import (
    EFFECTS,
    LIFECYCLE_ACTIONS,
    OPINIONS,
    OWNER_DEPARTMENT,
    PROBLEM_CODES,
    Action,
    DefinitionError,
    Problem,
    ProcessDefinition,
    Step,
    StepType,
    Target,
    load_definition,
)
from onewindow.workflow.engine.runtime import (
    Effect,
    ProcessFinished,
    TaskActivated,
    TaskCancelled,
    TaskCompleted,
    act,
    start,
)
from onewindow.workflow.engine.state import (
    ENGINE_ERROR_CODES,
    STATE_SCHEMA,
    EngineError,
    HistoryEntry,
    OpenSplit,
    ProcessState,
    Token,
)

__all__ = [
    "EFFECTS",
    "ENGINE_ERROR_CODES",
    "LIFECYCLE_ACTIONS",
    "OPINIONS",
    "OWNER_DEPARTMENT",
    "PROBLEM_CODES",
    "STATE_SCHEMA",
    "Action",
    "DefinitionError",
    "Effect",
    "EngineError",
    "HistoryEntry",
    "OpenSplit",
    "Problem",
    "ProcessDefinition",
    "ProcessFinished",
    "ProcessState",
    "Step",
    "StepType",
    "Target",
    "TaskActivated",
    "TaskCancelled",
    "TaskCompleted",
    "Token",
    "act",
    "load_definition",
    "start",
]
