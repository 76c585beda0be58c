"""What the case file page shows to one user: decided by access, assembled here.

Staff of the owner organisation see every section; a partner sees what its referrals' field
scopes allow (access.redact), the notes its own organisation wrote, and the notes marked for
sharing when its scope includes them: never the timeline, consents or other referrals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from casework import access
from casework.access import Permission
from casework.auth.models import Organisation, User, display_name_of
from casework.cases import forms
from casework.cases.models import Case, CaseNote
from casework.cases.services import assignable_users
from casework.db import session


@dataclass(frozen=True)
class NoteView:
    id: uuid.UUID
    created_at: datetime
    body: Any  # str, or ERASED
    shareable: bool
    author_name: str | None
    own_organisation: bool


@dataclass(frozen=True)
class LinkedCase:
    id: uuid.UUID
    reference: str
    can_open: bool


def visible_notes(user: Any, case: Case, fields: frozenset[str]) -> list[NoteView]:
    """The notes the user may read, newest first (bodies decrypted only for those)."""
    condition: ColumnElement[bool]
    if "notes" in fields:
        condition = CaseNote.case_id == case.id
    elif "shared_notes" in fields:
        condition = or_(CaseNote.shareable.is_(True), CaseNote.author_org_id == user.organisation_id)
    else:
        condition = CaseNote.author_org_id == user.organisation_id
    rows = session.execute(
        select(CaseNote, User.display_name)
        .outerjoin(User, User.id == CaseNote.author_id)
        .where(CaseNote.case_id == case.id, condition)
        .order_by(CaseNote.created_at.desc())
    )
    return [
        NoteView(
            id=note.id,
            created_at=note.created_at,
            body=note.body,
            shareable=note.shareable,
            author_name=author,
            own_organisation=note.author_org_id == user.organisation_id,
        )
        for note, author in rows
    ]


def linked_case(user: Any, case: Case) -> LinkedCase | None:
    if case.linked_case_id is None:
        return None
    row = session.execute(
        select(Case.id, Case.reference, access.case_scope(user)).where(Case.id == case.linked_case_id)
    ).one_or_none()
    return LinkedCase(row[0], row[1], bool(row[2])) if row is not None else None


def assign_choices(case: Case) -> list[tuple[str, str]]:
    return [(str(user.id), user.display_name) for user in assignable_users(case.owner_org_id)]


def case_file_context(user: Any, case: Case, **form_overrides: Any) -> dict[str, Any]:
    """Template context of cases/view.html; ``form_overrides`` carry forms being re-shown
    with their errors (note_form, assign_form, close_form, reopen_form)."""
    redacted = access.redact(user, case)
    fields = redacted.fields
    staff = "assigned_to" in fields
    version = str(case.version_id)
    context: dict[str, Any] = {
        "case": redacted,
        "case_id": case.id,
        "staff": staff,
        "may_edit": staff and access.can(user, Permission.CASE_EDIT, case),
        "may_add_note": access.can(user, Permission.NOTE_ADD, case),
        "may_close": staff and access.can(user, Permission.CASE_CLOSE, case),
        "may_assign": staff and access.can(user, Permission.CASE_ASSIGN, case),
        "notes": visible_notes(user, case, fields),
        "may_see_timeline": "timeline" in fields,
        "assignee_name": None,
        "owner_org_name": None,
        "linked_case": None,
        "is_erased": case.is_erased,
    }
    if staff:
        # Both names in one round trip (the assignee's account row is not needed whole).
        context["owner_org_name"], context["assignee_name"] = session.execute(
            select(
                select(Organisation.name).where(Organisation.id == case.owner_org_id).scalar_subquery(),
                display_name_of(case.assigned_to_id),
            )
        ).one()
        context["linked_case"] = linked_case(user, case)
    if context["may_add_note"]:
        context["note_form"] = form_overrides.get("note_form") or forms.NoteForm(formdata=None)
    if context["may_close"]:
        if case.status == "closed":
            context["reopen_form"] = form_overrides.get("reopen_form") or forms.ReopenForm(
                formdata=None, version_id=version
            )
        else:
            context["close_form"] = form_overrides.get("close_form") or forms.CloseForm(
                formdata=None, version_id=version
            )
    if context["may_assign"]:
        assign_form = form_overrides.get("assign_form") or forms.AssignForm(
            formdata=None, version_id=version, assigned_to=str(case.assigned_to_id or "")
        )
        assign_form.assigned_to.choices = assign_choices(case)
        context["assign_form"] = assign_form
    return context
