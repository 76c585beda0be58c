"""What the case file page shows to one user: decided by the request's access.CaseGrant,
assembled here.

The case file is the owner organisation's page (and a break-glass visitor's, read-only): the
grant allows ``CASE_FILE``. A partner never gets it (cases.view sends it to its portal's case
page); every action the page offers is one the grant allows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from casework import access
from casework.access import Permission
from casework.auth.models import User
from casework.cases import forms
from casework.cases.models import Case, CaseNote
from casework.cases.services import assignable_users
from casework.cases.summary import summary_header
from casework.cases.tabs import DEFAULT_TAB, tab_labels, tab_of
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


def visible_notes(grant: access.CaseGrant) -> list[NoteView]:
    """Every note of the case, newest first (the case file's readers see them all); bodies go
    through the grant's free-text rendering."""
    user = grant.user
    rows = session.execute(
        select(CaseNote, User.display_name)
        .outerjoin(User, User.id == CaseNote.author_id)
        .where(CaseNote.case_id == grant.case_id)
        .order_by(CaseNote.created_at.desc())
    )
    return [
        NoteView(
            id=note.id,
            created_at=note.created_at,
            body=grant.free_text(note.body),
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


def case_file_context(grant: access.CaseGrant, tab: str = DEFAULT_TAB, **form_overrides: Any) -> dict[str, Any]:
    """Template context of cases/view.html at ``tab``; ``form_overrides`` carry forms being
    re-shown with their errors (note_form, assign_form, close_form, reopen_form). Raises (403)
    unless the grant allows the case file."""
    grant.require(Permission.CASE_FILE)
    case, user = grant.case, grant.user
    version = str(case.version_id)
    tab = tab_of(tab)
    summary = summary_header(grant)
    context: dict[str, Any] = {
        "tab": tab,
        "tabs": tab_labels(),
        "summary": summary,
        "case": grant.view,
        "case_id": case.id,
        "staff": True,
        "may_edit": grant.allows(Permission.CASE_EDIT),
        "may_add_note": grant.allows(Permission.NOTE_ADD),
        "may_close": grant.allows(Permission.CASE_CLOSE),
        "may_assign": grant.allows(Permission.CASE_ASSIGN),
        "may_audit": grant.allows(Permission.CASE_AUDIT_VIEW),
        "break_glass_id": grant.break_glass_id,
        "notes": visible_notes(grant) if tab == "notes" else [],
        "may_see_timeline": True,
        "assignee_name": summary.assignee_name,
        "owner_org_name": summary.owner_org_name,
        "linked_case": linked_case(user, case),
        "is_erased": case.is_erased,
    }
    # The small forms are built for the tab that shows them only (their CSRF field and
    # choices cost a request that shows another tab for nothing).
    if context["may_add_note"] and tab == "notes":
        context["note_form"] = form_overrides.get("note_form") or forms.NoteForm(formdata=None)
    if context["may_close"] and tab == "management":
        if case.status == "closed":
            context["reopen_form"] = form_overrides.get("reopen_form") or forms.ReopenForm(
                formdata=None, version_id=version
            )
        else:
            context["close_form"] = form_overrides.get("close_form") or forms.CloseForm(
                formdata=None, version_id=version
            )
    if context["may_assign"] and tab == "management":
        assign_form = form_overrides.get("assign_form") or forms.AssignForm(
            formdata=None, version_id=version, assigned_to=str(case.assigned_to_id or "")
        )
        assign_form.assigned_to.choices = assign_choices(case)
        context["assign_form"] = assign_form
    if tab == "plan":
        from casework.plans.views import section_data

        context["plan"] = section_data(grant)
    if grant.break_glass_id is not None:
        from casework.audit.forms import EndBreakGlassForm

        context["end_break_glass_form"] = EndBreakGlassForm(formdata=None)
    return context
