"""Per-request context (request id, client IP) carried in context variables.

The request middleware sets it; logging and the audit trail read it, so neither needs the
request object passed down through every service call.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    on_behalf_of: str = ""  # USCC of the enterprise the person acts for, if any


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("onewindow_request", default=None)

# An incoming X-Request-ID is kept only when it looks like an id, so logs cannot be poisoned.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def client_ip(
    remote_addr: str | None, forwarded_for: str | None, trusted: frozenset[str]
) -> str | None:
    """The client's address: REMOTE_ADDR, unless it is a trusted reverse proxy, in which case
    the right-most X-Forwarded-For entry that is not itself a trusted proxy."""
    if not remote_addr or remote_addr not in trusted or not forwarded_for:
        return remote_addr
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if hop not in trusted:
            return hop
    return remote_addr


def new_request_id(incoming: str | None = None) -> str:
    if incoming and _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current() -> RequestContext:
    return _current.get() or _EMPTY


def set_on_behalf_of(uscc: str) -> None:
    """Record, for the rest of the request, the enterprise the acting person represents."""
    _current.set(replace(current(), on_behalf_of=uscc))


def set_current(ctx: RequestContext) -> object:
    return _current.set(ctx)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current()
        record.request_id = ctx.request_id
        return True
