"""Writing audit events: one INSERT per event, with its own MAC, taking no lock others wait on.

Each event's MAC covers its canonical content and a random nonce, under the audit key from the
keyring (outside the database), so a row changed or forged by SQL no longer verifies, and a
copied row collides with the original on the unique MAC. The sequencer (casework.audit.sequencer)
integrates appended events into a Merkle tree within a second or two and anchors signed
checkpoints outside the database, which is what shows rows deleted, a cut-off end, a wiped log
or an older copy of the database put back. Events written before the tree (an HMAC chain)
keep their chain MACs: see :func:`legacy_canonical`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert
from sqlalchemy.orm import Session

from casework.audit.models import AuditEvent
from casework.crypto import get_keyring
from casework.db import is_clean, separate_session, session, utcnow

GENESIS_MAC = "0" * 64
_FORBIDDEN_DETAIL_KEYS = frozenset({"name", "given_name", "family_name", "email", "phone", "address", "body"})
_MAC_VERSION = "casework-audit-event-v2"


def _content(event: Any) -> list[str]:
    return [
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
    ]


def canonical(event: Any) -> bytes:
    """The bytes an event's MAC covers (``event`` is an AuditEvent row or anything with the same
    attributes): every column but the id, the MAC and the tree position, and its nonce. The id
    is left out because the database assigns it in the same INSERT; the Merkle leaf binds it."""
    if event.prev_mac is not None:
        return legacy_canonical(event)
    return "\x1f".join([_MAC_VERSION, *_content(event), event.nonce or ""]).encode()


def legacy_canonical(event: Any) -> bytes:
    """What the MAC of an event of the former HMAC chain covers: its id, content and the
    previous event's MAC."""
    content = _content(event)
    return "\x1f".join([str(event.id), *content, event.prev_mac]).encode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def compute_mac(event: Any, key: bytes) -> str:
    return hmac.new(key, canonical(event), hashlib.sha256).hexdigest()


_EVENTS = AuditEvent.__table__
# Built once: every case page appends an event, and building the INSERT with its values costs
# more CPU than sending it. The values go as the execution's parameters.
_APPEND = insert(_EVENTS).returning(_EVENTS.c.id)
# record_now's: no id wanted back, so no result to set up and fetch on every page view.
_APPEND_WITHOUT_ID = insert(_EVENTS)


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
) -> int:
    """Append an event to the log in ``db`` (the request's session by default); returns its id.

    ``details`` must hold ids, codes and counts only; raises ValueError on a key that would
    carry victim data. The event commits or rolls back with the caller's transaction. One plain
    INSERT (this runs on every page that shows a case) that locks nothing another append waits
    for: the sequencer gives the event its place in the tree after it commits.
    """
    db = db if db is not None else session
    values = _event_values(action, outcome, target, target_type, target_id, case_id, details, actor)
    return int(db.execute(_APPEND, values).scalar_one())


def _event_values(
    action: str,
    outcome: str,
    target: Any,
    target_type: str | None,
    target_id: str | None,
    case_id: uuid.UUID | None,
    details: dict[str, Any] | None,
    actor: Any,
) -> dict[str, Any]:
    """The new event's row, its MAC included. Raises ValueError on details that would carry
    victim data."""
    if details and _FORBIDDEN_DETAIL_KEYS & set(details):
        raise ValueError("audit details must not carry personal data")
    if target is not None:
        target_type = target_type or type(target).__name__
        target_id = target_id or str(target.id)
    actor = actor if actor is not None else _current_actor()
    values: dict[str, Any] = {
        "occurred_at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_org_id": getattr(actor, "organisation_id", None),
        "actor_role": getattr(actor, "role", None),
        "action": action,
        "outcome": outcome,
        "target_type": target_type,
        "target_id": target_id,
        "case_id": case_id,
        "details": details,
        "remote_addr": request.remote_addr if has_request_context() else None,
        "prev_mac": None,
        "nonce": secrets.token_hex(16),
    }
    values["mac"] = compute_mac(SimpleNamespace(**values), get_keyring().audit_key)
    return values


def record_now(
    action: str,
    *,
    outcome: str = "ok",
    target: Any = None,
    target_type: str | None = None,
    target_id: str | None = None,
    case_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> None:
    """Append an event in a transaction of its own, committed at once, whatever becomes of the
    request (used for reads and refusals: they must be on record even if the request fails).
    Raises ValueError as :func:`record`.

    While the request's session has written nothing, that session carries the event and commits
    (one connection per request instead of two); otherwise a separate session does, so nothing
    the request started is committed with it."""
    values = _event_values(action, outcome, target, target_type, target_id, case_id, details, actor)
    if is_clean(session):
        session.execute(_APPEND_WITHOUT_ID, values)
        session.commit()
        return
    with separate_session() as own:
        own.execute(_APPEND_WITHOUT_ID, values)


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
