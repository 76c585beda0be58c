"""Tasks: create, complete, cancel, reassign and reschedule; load one task through its case.

The API other features build on (case plans create their actions with :func:`create_task`):
every function takes the user's :class:`~casework.access.CaseGrant` on the task's case, checks
it allows ``Permission.CASE_EDIT``, changes, audits and flushes; never commits.

Derived deadlines (``source_kind`` set) are kept in step with their source record by
``casework.tasks.derived``: here they may be completed or reassigned, never retitled or
rescheduled (change the source date instead; the task follows it).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework import access, vocab
from casework.access import Permission, Role
from casework.audit import writer
from casework.auth.models import User
from casework.cases.validation import ErrorCollector, InputErrors
from casework.db import session, utcnow
from casework.tasks.models import CANCELLED, DONE, OPEN, Task

TITLE_MAX = 200
#: Titles a person may choose (the ``deadline_*`` codes are given by the system only).
TYPED_TITLES = tuple(code.code for code in vocab.TASK_TITLES if not code.code.startswith("deadline_"))
EARLIEST_DUE = date(2000, 1, 1)
LATEST_DUE = date(2100, 12, 31)


class VersionConflict(Exception):
    """The task was changed by someone else since the user's form was built."""


def _require(grant: access.CaseGrant) -> None:
    grant.require(Permission.CASE_EDIT)


def assignable_users(case: Any) -> list[User]:
    """Who may hold a task of ``case``: people who can open the case (its caseworker and the
    owner organisation's active supervisors), by name."""
    rows = session.execute(
        select(User)
        .where(
            User.organisation_id == case.owner_org_id,
            User.active.is_(True),
            (User.role == Role.SUPERVISOR.value) | (User.id == case.assigned_to_id),
        )
        .order_by(User.display_name, User.email)
    ).scalars()
    return list(rows)


def _check_assignee(errors: ErrorCollector, case: Any, assignee_id: uuid.UUID | None) -> None:
    if assignee_id is not None and assignee_id not in {u.id for u in assignable_users(case)}:
        errors.add("assignee", _l("Choose the case's caseworker or a supervisor of its organisation."))


def _check_due(errors: ErrorCollector, due_on: date | None) -> None:
    if due_on is None:
        errors.add("due_on", _l("Enter a due date."))
    elif not EARLIEST_DUE <= due_on <= LATEST_DUE:
        errors.add("due_on", _l("Enter a date between 2000 and 2100."))


def _clean_title(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def create_task(
    grant: access.CaseGrant,
    *,
    title_code: str | None,
    due_on: date | None,
    title: str | None = None,
    assignee_id: uuid.UUID | None = None,
    service_id: uuid.UUID | None = None,
    actor: Any = None,
) -> Task:
    """Add an open task to the grant's case. ``title_code`` is a typed code of
    ``vocab.TASK_TITLES``; ``title`` free text (required with "other"; encrypted); ``assignee_id``
    None: the case's caseworker. A due date in the past is allowed (the list flags it).

    Raises InputErrors (fields ``title_code``, ``title``, ``due_on``, ``assignee``), and aborts
    403 when the grant does not allow editing the case.
    """
    _require(grant)
    actor = actor if actor is not None else grant.user
    title = _clean_title(title)
    errors = ErrorCollector()
    if not title_code:
        errors.add("title_code", _l("Choose what the task is."))
    elif title_code not in TYPED_TITLES:
        errors.add("title_code", _l("Choose one of the listed options."))
    elif title_code == "other" and not title:
        errors.add("title", _l("Describe the task."))
    errors.check_text("title", title, TITLE_MAX)
    _check_due(errors, due_on)
    _check_assignee(errors, grant.case, assignee_id)
    errors.raise_if_any()
    task = Task(
        case=grant.case,
        title_code=str(title_code),
        due_on=due_on,
        assignee_id=assignee_id,
        service_id=service_id,
        status=OPEN,
        created_by_id=getattr(actor, "id", None),
        created_at=utcnow(),
    )
    task.title = title
    session.add(task)
    session.flush()
    writer.record("task.create", target=task, case_id=grant.case.id, actor=actor, details={"title": title_code})
    return task


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != task.version_id:
        raise VersionConflict()


def _flush() -> None:
    try:
        session.flush()
    except StaleDataError as error:
        raise VersionConflict() from error


def _close(grant: access.CaseGrant, task: Task, status: str, expected_version: int | None, actor: Any) -> None:
    _require(grant)
    if task.case_id != grant.case.id:
        raise ValueError("the task is not of the grant's case")
    _check_version(task, expected_version)
    if task.status != OPEN:
        raise InputErrors({"status": [str(_l("This task is already closed."))]})
    actor = actor if actor is not None else grant.user
    task.status = status
    task.closed_by_id = getattr(actor, "id", None)
    task.closed_at = utcnow()
    _flush()
    writer.record(f"task.{status}", target=task, case_id=task.case_id, actor=actor)


def complete_task(grant: access.CaseGrant, task: Task, expected_version: int | None = None, actor: Any = None) -> None:
    """Mark an open task done (who and when are recorded). Raises InputErrors (already closed),
    VersionConflict; aborts 403 when the grant does not allow editing the case."""
    _close(grant, task, DONE, expected_version, actor)


def cancel_task(grant: access.CaseGrant, task: Task, expected_version: int | None = None, actor: Any = None) -> None:
    """Cancel an open task. Raises InputErrors (already closed), VersionConflict; aborts 403."""
    _close(grant, task, CANCELLED, expected_version, actor)


def reopen_task(grant: access.CaseGrant, task: Task, expected_version: int | None = None, actor: Any = None) -> None:
    """Open a closed task again. Raises InputErrors (not closed), VersionConflict; aborts 403."""
    _require(grant)
    _check_version(task, expected_version)
    if task.status == OPEN:
        raise InputErrors({"status": [str(_l("This task is open."))]})
    actor = actor if actor is not None else grant.user
    task.status = OPEN
    task.closed_by_id = None
    task.closed_at = None
    _flush()
    writer.record("task.reopen", target=task, case_id=task.case_id, actor=actor)


def update_task(
    grant: access.CaseGrant,
    task: Task,
    *,
    due_on: date | None,
    assignee_id: uuid.UUID | None,
    expected_version: int | None = None,
    actor: Any = None,
) -> bool:
    """Reschedule and/or reassign an open task; False when nothing changed. A derived deadline
    keeps its source's date (only its assignee changes). Raises InputErrors (fields ``due_on``,
    ``assignee``, ``status``), VersionConflict; aborts 403."""
    _require(grant)
    _check_version(task, expected_version)
    errors = ErrorCollector()
    if task.status != OPEN:
        errors.add("status", _l("Reopen the task before changing it."))
    if task.derived:
        due_on = task.due_on
    _check_due(errors, due_on)
    _check_assignee(errors, grant.case, assignee_id)
    errors.raise_if_any()
    pairs = (("due_on", task.due_on, due_on), ("assignee", task.assignee_id, assignee_id))
    changed = sorted(name for name, old, new in pairs if old != new)
    if not changed or due_on is None:
        return False
    task.due_on = due_on
    task.assignee_id = assignee_id
    _flush()
    actor = actor if actor is not None else grant.user
    writer.record("task.update", target=task, case_id=task.case_id, actor=actor, details={"fields": changed})
    return True


def load_task(
    task_id: uuid.UUID | str, permission: Permission = Permission.CASE_READ, user: Any = None
) -> tuple[Task, access.CaseGrant]:
    """One task and the user's grant on its case. 404 when the task does not exist, its case is
    outside the user's scope (access.load_case), or the user is a partner and the task is not
    about a service its organisation provides; 403 when the relation does not allow ``permission``."""
    from flask import abort
    from flask_login import current_user

    from casework.assistance.models import Service

    user = user if user is not None else current_user._get_current_object()  # type: ignore[attr-defined]
    try:
        task_uuid = task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    except ValueError:
        abort(404)
    row = session.execute(
        select(Task, Service.provider_org_id)
        .outerjoin(Service, Service.id == Task.service_id)
        .where(Task.id == task_uuid)
    ).first()
    if row is None:
        abort(404)
    task, provider_org_id = row
    grant = access.load_case(task.case_id, permission, user)
    if grant.relation is access.Relation.PARTNER and not access.may_reach_service(user, provider_org_id):
        access.refuse("task.load", case_id=task.case_id, status=404, reason="partner_service")
    return task, grant


def title_of(task: Task, grant: access.CaseGrant) -> str:
    """The task's title as ``grant``'s user may read it: the code's label, and free text
    (masked for a partner by the grant)."""
    label = str(vocab.TASK_TITLES.label(task.title_code)) if task.title_code in vocab.TASK_TITLES else task.title_code
    text = task.title
    if isinstance(text, str) and text:
        return f"{label}: {grant.free_text(text)}" if task.title_code != "other" else str(grant.free_text(text))
    return label
