"""Writing audit events into the HMAC chain.

Each event's MAC covers its canonical content and the previous event's MAC, under the audit
key from the keyring (outside the database), so a row changed, deleted or inserted by SQL
breaks the chain at that point. Appends lock the single chain-head row, so concurrent workers
extend the chain one at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.audit.models import AuditChainHead, AuditEvent
from casework.crypto import get_keyring
from casework.db import separate_session, session, utcnow

GENESIS_MAC = "0" * 64
_FORBIDDEN_DETAIL_KEYS = frozenset({"name", "given_name", "family_name", "email", "phone", "address", "body"})


def canonical(event: AuditEvent) -> bytes:
    """The bytes a MAC covers: every column but the MAC itself, in a fixed order."""
    fields = [
        str(event.id),
        _iso(event.occurred_at),
        str(event.actor_id or ""),
        str(event.actor_org_id or ""),
        event.actor_role or "",
        event.action,
        event.outcome,
        event.target_type or "",
        event.target_id or "",
        str(event.case_id or ""),
        json.dumps(event.details or {}, sort_keys=True, separators=(",", ":")),
        event.remote_addr or "",
        event.prev_mac,
    ]
    return "\x1f".join(fields).encode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def compute_mac(event: AuditEvent, key: bytes) -> str:
    return hmac.new(key, canonical(event), hashlib.sha256).hexdigest()


def record(
    action: str,
    *,
    outcome: str = "ok",
    target: Any = None,
    target_type: str | None = None,
    target_id: str | None = None,
    case_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    actor: Any = None,
    db: Session | None = None,
) -> AuditEvent:
    """Append an event to the chain in ``db`` (the request's session by default) and flush.

    ``details`` must hold ids, codes and counts only; raises ValueError on a key that would
    carry victim data. The event commits or rolls back with the caller's transaction.
    """
    if details and _FORBIDDEN_DETAIL_KEYS & set(details):
        raise ValueError("audit details must not carry personal data")
    db = db if db is not None else session
    if target is not None:
        target_type = target_type or type(target).__name__
        target_id = target_id or str(target.id)
    actor = actor if actor is not None else _current_actor()
    if db.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE and pysqlite reads outside a transaction until the first
        # write: take the database's write lock first (waits up to busy_timeout), or two
        # concurrent appends read the same head and collide on the next event id.
        db.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(id=AuditChainHead.id))
    head = db.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_event_id=0, last_mac=GENESIS_MAC)
        db.add(head)
        db.flush()
    event = AuditEvent(
        id=head.last_event_id + 1,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_org_id=getattr(actor, "organisation_id", None),
        actor_role=getattr(actor, "role", None),
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        case_id=case_id,
        details=details,
        remote_addr=request.remote_addr if has_request_context() else None,
        prev_mac=head.last_mac,
    )
    event.mac = compute_mac(event, get_keyring().audit_key)
    db.add(event)
    head.last_event_id = event.id
    head.last_mac = event.mac
    db.flush()
    return event


def record_now(action: str, **kwargs: Any) -> None:
    """Append an event in a transaction of its own, committed at once, whatever becomes of the
    request (used for reads and refusals: they must be on record even if the request fails).
    Call it before the request's session writes anything, or after it has rolled back."""
    with separate_session() as own:
        record(action, db=own, **kwargs)


def record_refusal(action: str, *, case_id: uuid.UUID | None = None, reason: str = "") -> None:
    """Audit a refused access in a transaction of its own: the request itself is aborted."""
    details = {"reason": reason} if reason else None
    if has_request_context():
        details = {**(details or {}), "endpoint": request.endpoint or ""}
    record_now(action, outcome="refused", case_id=case_id, details=details)


def _current_actor() -> Any:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None
