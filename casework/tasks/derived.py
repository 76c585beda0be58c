"""Deadlines derived from dates already recorded: nobody types them twice.

Choice: **materialised**, not computed on read. Whenever a session flushes a source record
(a legal service's permit expiry, a medical follow-up, a return's travel date, a consent's
expiry, a referral still pending), :func:`sync_deadlines` (a ``before_flush`` hook) writes or
moves its one task, keyed by ``(source_kind, source_id)`` (unique in the database); when the
source no longer applies (the service declined, the consent withdrawn, the referral answered)
an open task is cancelled. So every path that saves a source keeps its deadline in step, and
the work list reads one narrow, indexed table (``tasks``) instead of a union over five source
tables on every page: its cost does not grow with the number of sources or cases
(bench/home_bench.py). A deadline moved to a new date is open again (a new deadline); a done
one whose date did not change stays done. ``flask tasks sync`` derives them for records that
existed before (and is idempotent).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from casework.assistance.models import LegalAssistance, MedicalAssistance, ReturnAssistance, Service
from casework.consent.models import Consent
from casework.db import utcnow
from casework.partners.models import Referral
from casework.tasks.models import CANCELLED, OPEN, Task

#: Days before a permit expires that its renewal is due; a consent, likewise; a referral's
#: answer is awaited this many days before it shows as overdue.
PERMIT_NOTICE_DAYS = 30
CONSENT_NOTICE_DAYS = 14
RETURN_NOTICE_DAYS = 7
REFERRAL_ANSWER_DAYS = 7


@dataclass(frozen=True, slots=True)
class Deadline:
    """What a source record asks for: a due date (None: nothing is due any more)."""

    case_id: uuid.UUID
    due_on: date | None
    service_id: uuid.UUID | None = None


def _case_id(record: Any) -> uuid.UUID:
    return record.case_id if record.case_id is not None else record.case.id  # type: ignore[no-any-return]


def _service_deadline(record: Service, day: date | None, notice_days: int, closing: Iterable[str]) -> Deadline:
    live = day is not None and record.status not in closing
    return Deadline(_case_id(record), day - timedelta(days=notice_days) if live and day else None, record.id)


def _permit(record: LegalAssistance) -> Deadline:
    return _service_deadline(record, record.permit_expires_on, PERMIT_NOTICE_DAYS, ("declined",))


def _medical(record: MedicalAssistance) -> Deadline:
    return _service_deadline(record, record.follow_up_on, 0, ("declined",))


def _travel(record: ReturnAssistance) -> Deadline:
    return _service_deadline(record, record.travel_date, RETURN_NOTICE_DAYS, ("provided", "declined"))


def _consent(record: Consent) -> Deadline:
    live = record.decision == "granted" and record.withdrawn_on is None and record.expires_on is not None
    due = record.expires_on - timedelta(days=CONSENT_NOTICE_DAYS) if live and record.expires_on else None
    return Deadline(_case_id(record), due)


def _referral(record: Referral) -> Deadline:
    created = (record.created_at or utcnow()).date()
    due = created + timedelta(days=REFERRAL_ANSWER_DAYS) if record.status == "pending" else None
    return Deadline(_case_id(record), due)


#: source kind -> (model, deadline of a record, the task's title code)
SOURCES: dict[str, tuple[type, Callable[[Any], Deadline], str]] = {
    "permit_expiry": (LegalAssistance, _permit, "deadline_permit_expiry"),
    "medical_follow_up": (MedicalAssistance, _medical, "deadline_medical_follow_up"),
    "return_travel": (ReturnAssistance, _travel, "deadline_return_travel"),
    "consent_expiry": (Consent, _consent, "deadline_consent_expiry"),
    "referral_unanswered": (Referral, _referral, "deadline_referral_unanswered"),
}


def _kinds_of(record: Any) -> list[str]:
    return [kind for kind, (model, _, _) in SOURCES.items() if isinstance(record, model)]


def apply(session: Session, kind: str, record: Any, existing: Task | None) -> Task | None:
    """Bring the one task of ``record`` in step with its date (no flush, no commit)."""
    _, deadline_of, title_code = SOURCES[kind]
    deadline = deadline_of(record)
    if deadline.due_on is None:
        if existing is not None and existing.status == OPEN:
            existing.status = CANCELLED
            existing.closed_at = utcnow()
            existing.closed_by_id = None
        return existing
    if existing is None:
        task = Task(
            case_id=deadline.case_id,
            title_code=title_code,
            due_on=deadline.due_on,
            status=OPEN,
            source_kind=kind,
            source_id=record.id,
            service_id=deadline.service_id,
            created_at=utcnow(),
        )
        # Row-level dependencies: the unit of work inserts a new service (or case) first.
        if isinstance(record, Service):
            task.service = record
        if record.__dict__.get("case") is not None:
            task.case = record.__dict__["case"]
        session.add(task)
        return task
    reopened = existing.status == CANCELLED and existing.closed_by_id is None  # the system closed it
    if existing.due_on != deadline.due_on or reopened:
        existing.due_on = deadline.due_on
        if existing.status != OPEN:
            existing.status = OPEN
            existing.closed_at = None
            existing.closed_by_id = None
    return existing


def _existing(session: Session, pairs: list[tuple[str, uuid.UUID]]) -> dict[tuple[str, uuid.UUID], Task]:
    if not pairs:
        return {}
    with session.no_autoflush:
        rows = session.execute(select(Task).where(Task.source_id.in_({source_id for _, source_id in pairs}))).scalars()
        return {(task.source_kind, task.source_id): task for task in rows if task.source_kind is not None}


def sync_deadlines(session: Session, _context: Any = None, _instances: Any = None) -> None:
    """``before_flush``: the deadlines of every new or changed source record (one query)."""
    work = [(kind, record) for record in (*session.new, *session.dirty) for kind in _kinds_of(record)]
    if not work:
        return
    existing = _existing(session, [(kind, record.id) for kind, record in work])
    for kind, record in work:
        apply(session, kind, record, existing.get((kind, record.id)))


def sync_all(session: Session, batch: int = 500) -> int:
    """Derive the deadlines of every source record already stored (``flask tasks sync``);
    idempotent. Returns the number of records looked at. Commits per batch."""
    seen = 0
    for kind, (model, _, _) in SOURCES.items():
        last: uuid.UUID | None = None
        while True:
            query = select(model).order_by(model.id).limit(batch)
            if last is not None:
                query = query.where(model.id > last)
            records = list(session.execute(query).scalars())
            if not records:
                break
            existing = _existing(session, [(kind, record.id) for record in records])
            for record in records:
                apply(session, kind, record, existing.get((kind, record.id)))
            session.commit()
            seen += len(records)
            last = records[-1].id
    return seen


def install() -> None:
    """Keep derived deadlines in step on every session (idempotent)."""
    if not event.contains(Session, "before_flush", sync_deadlines):
        event.listen(Session, "before_flush", sync_deadlines)
