"""The case file and its edits: view, identity edit, trafficking profile, notes, close/reopen,
assign. Every edit carries the case's version; an outdated one gets a 409 page showing both
versions, with the unsaved values in a form that can be sent again."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from casework import access, vocab
from casework.access import Permission, route
from casework.audit import writer
from casework.cases import conflict, services
from casework.cases.casefile import assign_choices, case_file_context
from casework.cases.forms import AssignForm, CaseEditForm, CloseForm, NoteForm, ProfileForm, ReopenForm, parse_version
from casework.cases.models import Case
from casework.cases.profiles import ProfileDetails, update_profile, validate_profile
from casework.cases.services import CaseDetails, CaseErased, InputErrors, VersionConflict
from casework.cases.summary import header_columns
from casework.cases.tabs import tab_of, tab_url
from casework.cases.timeline import build_timeline
from casework.cases.validation import add_rule_errors, apply_errors
from casework.cases.views import bp
from casework.db import session

Page = tuple[str, int]


def _audit_view(case: Case, user: Any, page: str) -> None:
    """Pages that show case content without going through load_case(CASE_READ) are views too."""
    writer.record_now("case.view", case_id=case.id, target=case, actor=user, details={"page": page})


def _to_case_file(case: Case, anchor: str | None = None) -> Response:
    return redirect(tab_url(case.id, anchor))


def _case_file_again(grant: access.CaseGrant, status: int, **forms: Any) -> Page:
    """The case file re-rendered with a small form's errors (after the request rolled back).
    Only for a grant that allows the case file: never the staff page for anyone else."""
    grant.require(Permission.CASE_FILE)
    session.rollback()
    _audit_view(grant.case, grant.user, "case_file")
    tab = "notes" if "note_form" in forms else "management"
    return render_template("cases/view.html", **case_file_context(grant, tab, **forms)), status


def _erased(case: Case) -> Response:
    flash(_("The identifying data of this case was erased: it can no longer be edited."), "error")
    return _to_case_file(case)


@bp.route("/<uuid:case_id>")
@route(Permission.CASE_READ, case_route=True)
def view(case_id: Any) -> Page | Response:
    tab = tab_of(request.args.get("tab"))
    # The summary header's figures come with the case, in the same round trip; the trafficking
    # profile too, on the one tab that shows it (a joined row of twenty-odd columns for nothing
    # on the others).
    grant = access.load_case(
        case_id, Permission.CASE_READ, with_profile=tab == "profile", extra_columns=header_columns()
    )
    if not grant.allows(Permission.CASE_FILE):
        # A partner works from its portal's case page, which shows the referral's scope and
        # masks free text; the organisation's case file is never rendered for it.
        return redirect(url_for("partners.case", case_id=grant.case_id))
    return render_template("cases/view.html", **case_file_context(grant, tab)), 200


@bp.route("/<uuid:case_id>/timeline")
@route(Permission.CASE_READ, case_route=True)
def timeline(case_id: Any) -> Page | Response:
    """Everything that happened to the case, newest first: its own page, so that opening a case
    file does not read and render years of history (owner staff and break-glass only)."""
    grant = access.load_case(case_id, Permission.CASE_READ)
    if not grant.allows(Permission.CASE_FILE):
        # Partners never see the timeline: their portal's case page is what they may see.
        return redirect(url_for("partners.case", case_id=grant.case_id))
    return render_template("cases/timeline.html", case=grant.view, timeline=build_timeline(grant.case)), 200


# -- identity and coded profile ---------------------------------------------------------------
def _details_form(case: Case) -> CaseEditForm:
    return CaseEditForm(formdata=None, data=asdict(CaseDetails.from_case(case)), version_id=str(case.version_id))


def _edit_page(grant: access.CaseGrant, form: CaseEditForm, status: int) -> Page:
    return render_template("cases/edit.html", form=form, case=grant.view), status


def _conflict_page(grant: access.CaseGrant, rows: list[conflict.ConflictRow], form: Any, kind: str) -> Page:
    """409: the saved version beside the unsaved one; the form now carries the saved version
    number, so sending it again (after merging) deliberately replaces what was saved."""
    case = grant.case
    _audit_view(case, grant.user, "conflict")
    form.version_id.data = str(case.version_id)
    context = {"case": grant.view, "rows": rows, "form": form, "kind": kind}
    if kind == "assign":
        form.assigned_to.choices = assign_choices(case)
    return render_template("cases/conflict.html", updated_at=case.updated_at, **context), 409


@bp.route("/<uuid:case_id>/edit", methods=["GET", "POST"])
@route(Permission.CASE_EDIT, case_route=True)
def edit(case_id: Any) -> Page | Response:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    case, user = grant.case, grant.user
    if case.is_erased:
        return _erased(case)
    if request.method == "GET":
        # load_case has put this page view on record (a GET of a case page).
        return _edit_page(grant, _details_form(case), 200)
    form = CaseEditForm()
    if not form.validate():
        add_rule_errors(form, lambda: services.validate_details(CaseDetails.from_form(form)))
        return _edit_page(grant, form, 400)
    try:
        changed = services.update_case(case, CaseDetails.from_form(form), parse_version(form.version_id.data), user)
        session.commit()
    except (VersionConflict, StaleDataError):
        session.rollback()
        return _conflict_page(grant, conflict.compare(_details_form(case), form), form, "details")
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _edit_page(grant, form, 400)
    except CaseErased:
        session.rollback()
        return _erased(case)
    flash(_("Saved.") if changed else _("Nothing was changed."), "success" if changed else "info")
    return _to_case_file(case)


# -- trafficking profile ----------------------------------------------------------------------
def _profile_form(case: Case) -> ProfileForm:
    data = ProfileDetails.from_profile(case.profile).form_data()
    form = ProfileForm(formdata=None, data=data, version_id=str(case.version_id))
    form.ensure_free_country_slot()
    return form


def _profile_page(grant: access.CaseGrant, form: ProfileForm, status: int) -> Page:
    return render_template("cases/profile.html", form=form, case=grant.view), status


@bp.route("/<uuid:case_id>/profile", methods=["GET", "POST"])
@route(Permission.CASE_EDIT, case_route=True)
def profile(case_id: Any) -> Page | Response:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    case, user = grant.case, grant.user
    if case.is_erased:
        return _erased(case)
    if request.method == "GET":
        # load_case has put this page view on record (a GET of a case page).
        return _profile_page(grant, _profile_form(case), 200)
    form = ProfileForm()
    if not form.validate():
        add_rule_errors(form, lambda: validate_profile(ProfileDetails.from_form(form)))
        return _profile_page(grant, form, 400)
    try:
        changed = update_profile(case, ProfileDetails.from_form(form), parse_version(form.version_id.data), user)
        session.commit()
    except (VersionConflict, StaleDataError):
        session.rollback()
        return _conflict_page(grant, conflict.compare(_profile_form(case), form), form, "profile")
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _profile_page(grant, form, 400)
    except CaseErased:
        session.rollback()
        return _erased(case)
    flash(_("Saved.") if changed else _("Nothing was changed."), "success" if changed else "info")
    return _to_case_file(case, "profile")


# -- notes --------------------------------------------------------------------------------------
@bp.route("/<uuid:case_id>/notes", methods=["POST"])
@route(Permission.NOTE_ADD, case_route=True)
def add_note(case_id: Any) -> Page | Response:
    grant = access.load_case(case_id, Permission.NOTE_ADD)
    case, user = grant.case, grant.user
    form = NoteForm()
    if form.validate():
        try:
            services.add_note(case, form.body.data, bool(form.shareable.data), user)
            session.commit()
        except InputErrors as refused:
            apply_errors(form, refused.errors)
        except CaseErased:
            session.rollback()
            return _erased(case)
        else:
            flash(_("Note added."), "success")
            return _to_case_file(case, "notes")
    return _case_file_again(grant, 400, note_form=form)


# -- status and assignment ----------------------------------------------------------------------
def _status_rows(case: Case, status: str, closed_on: Any) -> list[conflict.ConflictRow]:
    theirs_closed = case.closed_on.isoformat() if case.closed_on else ""
    yours_closed = closed_on.isoformat() if closed_on else ""
    return [
        conflict.ConflictRow(
            "status", _("Status"), vocab.CASE_STATUSES.label(case.status), vocab.CASE_STATUSES.label(status)
        ),
        conflict.ConflictRow("closed_on", _("Closed on"), theirs_closed, yours_closed),
    ]


@bp.route("/<uuid:case_id>/close", methods=["POST"])
@route(Permission.CASE_CLOSE, case_route=True)
def close(case_id: Any) -> Page | Response:
    grant = access.load_case(case_id, Permission.CASE_CLOSE)
    case, user = grant.case, grant.user
    form = CloseForm()
    if form.validate():
        try:
            services.close_case(case, form.closed_on.data, parse_version(form.version_id.data), user)
            session.commit()
        except (VersionConflict, StaleDataError):
            session.rollback()
            return _conflict_page(grant, _status_rows(case, "closed", form.closed_on.data), form, "close")
        except InputErrors as refused:
            apply_errors(form, refused.errors)
        else:
            flash(_("The case is closed."), "success")
            return _to_case_file(case)
    return _case_file_again(grant, 400, close_form=form)


@bp.route("/<uuid:case_id>/reopen", methods=["POST"])
@route(Permission.CASE_CLOSE, case_route=True)
def reopen(case_id: Any) -> Page | Response:
    grant = access.load_case(case_id, Permission.CASE_CLOSE)
    case, user = grant.case, grant.user
    form = ReopenForm()
    if form.validate():
        try:
            services.reopen_case(case, parse_version(form.version_id.data), user)
            session.commit()
        except (VersionConflict, StaleDataError):
            session.rollback()
            return _conflict_page(grant, _status_rows(case, "open", None), form, "reopen")
        except InputErrors as refused:
            for messages in refused.errors.values():
                for message in messages:
                    flash(message, "error")  # the reopen form is not shown on an open case
        else:
            flash(_("The case is open again."), "success")
            return _to_case_file(case)
    return _case_file_again(grant, 400, reopen_form=form)


@bp.route("/<uuid:case_id>/assign", methods=["POST"])
@route(Permission.CASE_ASSIGN, case_route=True)
def assign(case_id: Any) -> Page | Response:
    grant = access.load_case(case_id, Permission.CASE_ASSIGN)
    case, user = grant.case, grant.user
    form = AssignForm()
    choices = assign_choices(case)
    form.assigned_to.choices = choices
    if form.validate():
        assignee_id = _uuid(form.assigned_to.data)
        try:
            changed = services.assign_case(case, assignee_id, parse_version(form.version_id.data), user)
            session.commit()
        except (VersionConflict, StaleDataError):
            session.rollback()
            names = dict(choices)
            theirs = case.assignee.display_name if case.assignee is not None else ""
            rows = [conflict.ConflictRow("assigned_to", _("Assigned to"), theirs, names.get(form.assigned_to.data, ""))]
            return _conflict_page(grant, rows, form, "assign")
        except InputErrors as refused:
            apply_errors(form, refused.errors)
        else:
            flash(_("The case was assigned.") if changed else _("Nothing was changed."), "success")
            return _to_case_file(case)
    return _case_file_again(grant, 400, assign_form=form)


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw or "")
    except ValueError:
        return None
