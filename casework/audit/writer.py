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
from types import SimpleNamespace
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from casework.audit.models import AuditChainHead, AuditEvent
from casework.crypto import get_keyring
from casework.db import is_clean, separate_session, session, utcnow

GENESIS_MAC = "0" * 64
_FORBIDDEN_DETAIL_KEYS = frozenset({"name", "given_name", "family_name", "email", "phone", "address", "body"})


def canonical(event: Any) -> bytes:
    """The bytes a MAC covers: every column but the MAC itself, in a fixed order (``event`` is
    an AuditEvent row or anything with the same attributes)."""
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


def compute_mac(event: Any, key: bytes) -> str:
    return hmac.new(key, canonical(event), hashlib.sha256).hexdigest()


_EVENTS = AuditEvent.__table__
_HEAD = AuditChainHead.__table__


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
    """Append an event to the chain in ``db`` (the request's session by default); returns its id.

    ``details`` must hold ids, codes and counts only; raises ValueError on a key that would
    carry victim data. The event commits or rolls back with the caller's transaction. Plain
    SQL statements, not ORM objects: this runs on every page that shows a case, and the chain
    head stays locked from the SELECT ... FOR UPDATE to the caller's commit.
    """
    if details and _FORBIDDEN_DETAIL_KEYS & set(details):
        raise ValueError("audit details must not carry personal data")
    db = db if db is not None else session
    if target is not None:
        target_type = target_type or type(target).__name__
        target_id = target_id or str(target.id)
    actor = actor if actor is not None else _current_actor()
    # Everything but the event's place in the chain is prepared before the head is locked: every
    # other append in the deployment waits from the SELECT ... FOR UPDATE to this transaction's
    # commit, so that window holds no statement building, only the MAC and one round trip.
    event = SimpleNamespace(
        id=None,
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
        prev_mac=None,
    )
    audit_key = get_keyring().audit_key
    dialect = db.get_bind().dialect.name
    chained = {"id": bindparam("chain_id"), "prev_mac": bindparam("chain_prev_mac"), "mac": bindparam("chain_mac")}
    append = insert(_EVENTS).values({**vars(event), **chained})
    advance = (
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(last_event_id=bindparam("chain_id"), last_mac=bindparam("chain_mac"))
    )
    if dialect == "postgresql":
        # One round trip while the head is locked: WITH appended AS (INSERT ...) UPDATE head.
        advance = advance.add_cte(append.cte("appended"))
    if dialect == "sqlite":
        # SQLite ignores FOR UPDATE and pysqlite reads outside a transaction until the first
        # write: take the database's write lock first (waits up to busy_timeout), or two
        # concurrent appends read the same head and collide on the next event id.
        db.execute(update(_HEAD).where(_HEAD.c.id == 1).values(id=_HEAD.c.id))
    locked_head = select(_HEAD.c.last_event_id, _HEAD.c.last_mac).where(_HEAD.c.id == 1).with_for_update()
    head = db.execute(locked_head).one_or_none()
    if head is None and dialect == "postgresql":
        # The first events of a new deployment race to create the head (FOR UPDATE locks no
        # row that does not exist yet): one creates it, the others wait for that transaction
        # and then append after its event, instead of failing on the duplicate key.
        genesis = pg_insert(_HEAD).values(id=1, last_event_id=0, last_mac=GENESIS_MAC)
        db.execute(genesis.on_conflict_do_nothing(index_elements=[_HEAD.c.id]))
        head = db.execute(locked_head).one()
    if head is None:  # SQLite: this transaction already holds the database's write lock
        db.execute(insert(_HEAD).values(id=1, last_event_id=0, last_mac=GENESIS_MAC))
        last_event_id, last_mac = 0, GENESIS_MAC
    else:
        last_event_id, last_mac = head
    event.id = last_event_id + 1
    event.prev_mac = last_mac
    event.mac = compute_mac(event, audit_key)
    chain_values = {"chain_id": event.id, "chain_prev_mac": event.prev_mac, "chain_mac": event.mac}
    if dialect == "postgresql":
        db.execute(advance, chain_values)
    else:
        db.execute(append, chain_values)
        db.execute(advance, chain_values)
    return int(event.id)


def record_now(action: str, **kwargs: Any) -> None:
    """Append an event in a transaction of its own, committed at once, whatever becomes of the
    request (used for reads and refusals: they must be on record even if the request fails).

    While the request's session has written nothing, that session carries the event and commits
    (one connection per request instead of two); otherwise a separate session does, so nothing
    the request started is committed with it."""
    if is_clean(session):
        record(action, db=session, **kwargs)
        session.commit()
        return
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
