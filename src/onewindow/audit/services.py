"""Writes to the audit trail. ``audit_record`` is the only way rows are added."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from onewindow.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry, Outcome
from onewindow.kit import context
from onewindow.kit.crypto import sm3_hex

SYSTEM_ACTOR = "system"
ANONYMOUS_ACTOR = "anonymous"


def _normal_ip(ip: str | None) -> str:
    if not ip:
        return ""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ""


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    occurred_at: Any,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    outcome: str,
    ip: str | None,
    request_id: str,
    detail: Any,
) -> str:
    """SM3 over the previous hash and a canonical JSON form of the row's content.

    The same function recomputes the hash from the values read back from the database, so the
    canonical form uses only what survives a round trip (UTC microseconds, normalised IP, JSON).
    """
    payload = json.dumps(
        {
            "seq": seq,
            "occurred_at": occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "object_repr": object_repr,
            "outcome": outcome,
            "ip": _normal_ip(ip),
            "request_id": request_id,
            "detail": detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return sm3_hex((prev_hash + payload).encode())


def _with_context(detail: dict[str, Any] | None, ctx: context.RequestContext) -> dict[str, Any]:
    """An agent's every act names the enterprise too (经办人 and 企业 both recorded)."""
    detail = dict(detail or {})
    if ctx.on_behalf_of:
        detail.setdefault("on_behalf_of", ctx.on_behalf_of)
    return detail


def audit_record(
    *,
    actor: str,
    action: str,
    outcome: str = Outcome.SUCCESS,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Append one row to the audit trail.

    ``actor`` is a username, ``"system"`` or ``"anonymous"``. ``ip`` and ``request_id`` default
    to the current request's. The row joins the caller's transaction: if the business change
    rolls back, so does its audit row (denials and failures are recorded outside of one).
    """
    ctx = context.current()
    fields: dict[str, Any] = {
        "occurred_at": timezone.now(),
        "actor": (actor or ANONYMOUS_ACTOR)[:150],
        "action": action[:64],
        "object_type": object_type[:100],
        "object_id": str(object_id)[:128],  # an e-license identifier is about 70
        "object_repr": object_repr[:200],
        "outcome": str(outcome),
        "ip": _normal_ip(ip if ip is not None else ctx.ip) or None,
        "request_id": (request_id if request_id is not None else ctx.request_id)[:64],
        # A JSON round trip now, so the hashed value is exactly what the database returns.
        "detail": json.loads(
            json.dumps(_with_context(detail, ctx), ensure_ascii=False, default=str)
        ),
    }
    # No savepoint: a failure here is a failure of the caller's whole change.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # One statement takes the head's row lock (creating the row on the first entry), moves
        # its sequence on and reads the previous hash; the hash follows once computed.
        cursor.execute(_HEAD_NEXT, [GENESIS_HASH])
        seq, prev_hash = cursor.fetchone()
        digest = entry_hash(prev_hash=prev_hash, seq=seq, **fields)
        entry = AuditEntry.objects.create(seq=seq, prev_hash=prev_hash, hash=digest, **fields)
        cursor.execute(_HEAD_HASH, [digest])
    return entry


_HEAD = AuditChainHead._meta.db_table
_HEAD_NEXT = (
    f"INSERT INTO {_HEAD} (id, seq, hash) VALUES (1, 1, %s) "  # noqa: S608
    f"ON CONFLICT (id) DO UPDATE SET seq = {_HEAD}.seq + 1 RETURNING seq, hash"
)
_HEAD_HASH = f"UPDATE {_HEAD} SET hash = %s WHERE id = 1"  # noqa: S608


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain in ``seq`` order and report the first row where it breaks."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    rows = AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size)
    for row in rows:
        if row.seq != expected_seq:
            return ChainReport(
                False,
                checked,
                row.seq,
                row.pk,
                f"sequence gap: expected seq {expected_seq}, found {row.seq} "
                f"(rows were deleted before it)",
            )
        if row.prev_hash != expected_prev:
            return ChainReport(
                False,
                checked,
                row.seq,
                row.pk,
                f"prev_hash does not match the hash of seq {row.seq - 1} "
                f"(that row or this link was altered)",
            )
        recomputed = entry_hash(
            prev_hash=row.prev_hash,
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            object_repr=row.object_repr,
            outcome=row.outcome,
            ip=row.ip,
            request_id=row.request_id,
            detail=row.detail,
        )
        if recomputed != row.hash:
            return ChainReport(
                False,
                checked,
                row.seq,
                row.pk,
                "content does not match its hash (the row was edited)",
            )
        expected_prev = row.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != checked or head_hash != expected_prev:
        return ChainReport(
            False,
            checked,
            checked + 1 if head_seq > checked else head_seq,
            None,
            f"the chain head records seq {head_seq} but the trail ends at seq {checked} "
            f"(rows were deleted from the end, or the head was altered)",
        )
    return ChainReport(True, checked)


def audit_denied(*, request: Any, reason: str = "") -> AuditEntry:
    """Record a permission denial (the request's own changes have already rolled back)."""
    user = getattr(request, "user", None)
    subject = getattr(request, "subject", None)  # set by identity.access for API callers
    if subject is not None:
        actor = subject.label
    elif user is not None and user.is_authenticated:
        actor = user.get_username()
    else:
        actor = ANONYMOUS_ACTOR
    return audit_record(
        actor=actor,
        action="access.denied",
        outcome=Outcome.DENIED,
        object_type="http",
        object_repr=f"{request.method} {request.path}"[:200],
        detail={"reason": reason[:500]} if reason else {},
    )
