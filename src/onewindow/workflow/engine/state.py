"""The state of one running process (流程实例状态): immutable, and JSON in and out.

The app stores :meth:`ProcessState.to_json` next to the instance (with the definition key and
version it runs on) and gives :meth:`ProcessState.from_json` back to the engine for the next
action. ``from_json`` checks the structure and refuses anything it does not understand, so a
damaged or foreign row fails loudly (``state_invalid``, ``state_version``) instead of routing
work wrongly. The schema is documented in ``docs/process-definitions.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

STATE_SCHEMA: Final = 1
"""The version of the JSON written by :meth:`ProcessState.to_json`."""

ENGINE_ERROR_CODES: Final = frozenset(
    {
        "token_not_active",
        "unknown_action",
        "no_target_matched",
        "no_branch_matched",
        "definition_mismatch",
        "state_invalid",
        "state_version",
    }
)
"""Every :attr:`EngineError.code`."""

_TOKEN_ID: Final = re.compile(r"t([1-9][0-9]*)")
_SPLIT_ID: Final = re.compile(r"s([1-9][0-9]*)")
_KEY: Final = re.compile(r"[a-z0-9_]{1,64}")


class EngineError(Exception):
    """An action or state the engine refuses; ``code`` is one of :data:`ENGINE_ERROR_CODES`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


@dataclass(frozen=True, slots=True)
class Token:
    """One activation of a task step (one work item). ``scopes`` are the ids of the open
    parallel splits it runs inside, outermost first."""

    id: str
    step: str
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenSplit:
    """A parallel step that has started branches whose join has not completed yet.
    ``branches`` are the branch steps actually started (an inclusive branch whose condition was
    false is not there); the join completes when ``arrived`` reaches their number."""

    id: str
    step: str
    join: str
    branches: tuple[str, ...]
    arrived: int = 0


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A completed task: which token, at which step, with which action."""

    token: str
    step: str
    action: str


@dataclass(frozen=True, slots=True)
class ProcessState:
    """Where a process is. Build it with ``runtime.start``; change it only with ``runtime.act``
    (which returns a new state)."""

    definition_key: str
    definition_version: int
    tokens: tuple[Token, ...] = ()
    splits: tuple[OpenSplit, ...] = ()
    token_counter: int = 0
    split_counter: int = 0
    finished: bool = False
    end_step: str | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def active_tokens(self) -> tuple[tuple[str, str], ...]:
        """``(token_id, step_id)`` of every waiting task, in the order they were activated."""
        return tuple((token.id, token.step) for token in self.tokens)

    def token(self, token_id: str) -> Token | None:
        """The active token with this id, or ``None``."""
        for token in self.tokens:
            if token.id == token_id:
                return token
        return None

    def to_json(self) -> dict[str, Any]:
        """A dict of JSON types only (str, int, bool, None, list, dict)."""
        return {
            "schema": STATE_SCHEMA,
            "definition_key": self.definition_key,
            "definition_version": self.definition_version,
            "tokens": [
                {"id": token.id, "step": token.step, "scopes": list(token.scopes)}
                for token in self.tokens
            ],
            "splits": [
                {
                    "id": split.id,
                    "step": split.step,
                    "join": split.join,
                    "branches": list(split.branches),
                    "arrived": split.arrived,
                }
                for split in self.splits
            ],
            "token_counter": self.token_counter,
            "split_counter": self.split_counter,
            "finished": self.finished,
            "end_step": self.end_step,
            "history": [
                {"token": entry.token, "step": entry.step, "action": entry.action}
                for entry in self.history
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> ProcessState:
        """The state ``to_json`` wrote; ``EngineError`` ``state_version`` for another schema
        version, ``state_invalid`` for anything malformed or inconsistent."""
        if not isinstance(data, Mapping):
            raise _invalid("", "a process state must be a JSON object")
        schema = data.get("schema")
        if not _is_int(schema):
            raise _invalid("schema", "missing or not a whole number")
        if schema != STATE_SCHEMA:
            raise EngineError(
                "state_version",
                f"process state schema {schema} is not supported (this engine reads "
                f"{STATE_SCHEMA})",
            )
        _exact_fields(data, _STATE_FIELDS, "")
        state = cls(
            definition_key=_text(data, "definition_key", ""),
            definition_version=_count(data, "definition_version", "", minimum=1),
            tokens=tuple(
                Token(
                    id=_text(item, "id", path),
                    step=_text(item, "step", path),
                    scopes=tuple(_texts(item, "scopes", path)),
                )
                for path, item in _objects(data, "tokens", _TOKEN_FIELDS)
            ),
            splits=tuple(
                OpenSplit(
                    id=_text(item, "id", path),
                    step=_text(item, "step", path),
                    join=_text(item, "join", path),
                    branches=tuple(_texts(item, "branches", path)),
                    arrived=_count(item, "arrived", path, minimum=0),
                )
                for path, item in _objects(data, "splits", _SPLIT_FIELDS)
            ),
            token_counter=_count(data, "token_counter", "", minimum=0),
            split_counter=_count(data, "split_counter", "", minimum=0),
            finished=_flag(data, "finished"),
            end_step=_optional_text(data, "end_step"),
            history=tuple(
                HistoryEntry(
                    token=_text(item, "token", path),
                    step=_text(item, "step", path),
                    action=_text(item, "action", path),
                )
                for path, item in _objects(data, "history", _HISTORY_FIELDS)
            ),
        )
        _check_consistent(state)
        return state


# --- reading JSON ---------------------------------------------------------------------------

_STATE_FIELDS: Final = frozenset(
    {
        "schema",
        "definition_key",
        "definition_version",
        "tokens",
        "splits",
        "token_counter",
        "split_counter",
        "finished",
        "end_step",
        "history",
    }
)
_TOKEN_FIELDS: Final = frozenset({"id", "step", "scopes"})
_SPLIT_FIELDS: Final = frozenset({"id", "step", "join", "branches", "arrived"})
_HISTORY_FIELDS: Final = frozenset({"token", "step", "action"})


def _invalid(path: str, message: str) -> EngineError:
    return EngineError("state_invalid", f"invalid process state: {path or 'state'}: {message}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _exact_fields(data: Mapping[Any, Any], fields: frozenset[str], path: str) -> None:
    present = set(data)
    if present != fields:
        missing = sorted(fields - present)
        extra = sorted(str(name) for name in present - fields)
        raise _invalid(path, f"fields differ (missing: {missing}, unexpected: {extra})")


def _text(data: Mapping[Any, Any], name: str, path: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not value:
        raise _invalid(f"{path}.{name}" if path else name, "must be non-empty text")
    return value


def _optional_text(data: Mapping[Any, Any], name: str) -> str | None:
    return None if data[name] is None else _text(data, name, "")


def _texts(data: Mapping[Any, Any], name: str, path: str) -> list[str]:
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(i, str) and i for i in value):
        raise _invalid(f"{path}.{name}", "must be a list of non-empty text")
    return value


def _count(data: Mapping[Any, Any], name: str, path: str, *, minimum: int) -> int:
    value = data[name]
    if not _is_int(value) or value < minimum:
        raise _invalid(f"{path}.{name}" if path else name, f"must be a whole number >= {minimum}")
    return int(value)


def _flag(data: Mapping[Any, Any], name: str) -> bool:
    value = data[name]
    if not isinstance(value, bool):
        raise _invalid(name, "must be true or false")
    return value


def _objects(
    data: Mapping[Any, Any], name: str, fields: frozenset[str]
) -> list[tuple[str, Mapping[Any, Any]]]:
    value = data[name]
    if not isinstance(value, list):
        raise _invalid(name, "must be a list")
    found: list[tuple[str, Mapping[Any, Any]]] = []
    for index, item in enumerate(value):
        path = f"{name}.{index}"
        if not isinstance(item, Mapping):
            raise _invalid(path, "must be an object")
        _exact_fields(item, fields, path)
        found.append((path, item))
    return found


def _numbered(pattern: re.Pattern[str], value: str, counter: int) -> bool:
    match = pattern.fullmatch(value)
    return match is not None and int(match.group(1)) <= counter


def _check_consistent(state: ProcessState) -> None:
    """The invariants the runtime keeps; anything else was not written by this engine."""
    if not _KEY.fullmatch(state.definition_key):
        raise _invalid("definition_key", "not a definition key")
    if state.finished != (state.end_step is not None):
        raise _invalid("end_step", "a finished process has an end step, a running one none")
    if state.finished and (state.tokens or state.splits):
        raise _invalid("finished", "a finished process has no tokens or open splits")
    if not state.finished and not state.tokens:
        raise _invalid("tokens", "a running process has at least one active token")
    split_ids = [split.id for split in state.splits]
    if len(set(split_ids)) != len(split_ids):
        raise _invalid("splits", "duplicate split ids")
    for split in state.splits:
        if not _numbered(_SPLIT_ID, split.id, state.split_counter):
            raise _invalid("splits", f"bad split id {split.id!r}")
        if not split.branches or split.arrived >= len(split.branches):
            raise _invalid("splits", f"split {split.id!r} has no branch left to wait for")
    token_ids = [token.id for token in state.tokens]
    if len(set(token_ids)) != len(token_ids):
        raise _invalid("tokens", "duplicate token ids")
    used: set[str] = set()
    for token in state.tokens:
        if not _numbered(_TOKEN_ID, token.id, state.token_counter):
            raise _invalid("tokens", f"bad token id {token.id!r}")
        if len(set(token.scopes)) != len(token.scopes) or not set(token.scopes) <= set(split_ids):
            raise _invalid("tokens", f"token {token.id!r} names splits that are not open")
        used.update(token.scopes)
    if used != set(split_ids):
        raise _invalid("splits", "an open split has no token inside it")
    for entry in state.history:
        if not _numbered(_TOKEN_ID, entry.token, state.token_counter):
            raise _invalid("history", f"bad token id {entry.token!r}")
