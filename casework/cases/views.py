"""Case lists, search and registration (the case file's own routes are in file_views.py).

Views stay thin: parse the form, call a service, commit once, redirect; a refused service
call re-renders the form with the person's input and a 4xx status.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, route
from casework.audit import writer
from casework.cases import display, search, services
from casework.cases.forms import CaseListForm, RegistrationForm, SearchForm
from casework.cases.services import CaseDetails, InputErrors
from casework.cases.validation import add_rule_errors, apply_errors
from casework.crypto import ERASED
from casework.db import session

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.app_template_test("redacted")
def is_redacted(value: Any) -> bool:
    """``{% if value is redacted %}``: a field the user may not see (access.REDACTED)."""
    return value is access.REDACTED


@bp.app_template_test("erased")
def is_erased(value: Any) -> bool:
    """``{% if value is erased %}``: a value whose data key was destroyed."""
    return value is ERASED


# The case file's value helpers, as globals under their macro names: a template that imports
# the macros of cases/_macros.html keeps using those (an import shadows a global).
bp.add_app_template_global(display.show, "show")
bp.add_app_template_global(display.coded, "coded")
bp.add_app_template_global(display.country, "country")


@bp.app_template_test("date_value")
def is_date_value(value: Any) -> bool:
    return isinstance(value, date)


def _user() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


# -- lists --------------------------------------------------------------------------------------
@bp.route("/")
@route(Permission.CASE_LIST)
def index() -> tuple[str, int]:
    user = _user()
    may_see_org = access.has_permission(user, Permission.CASE_ASSIGN)  # supervisors
    defaults = {"view": "org"} if may_see_org else {}
    form = CaseListForm(formdata=request.args or None, **defaults)
    if may_see_org:
        form.assigned.choices = [("", _("Anyone"))] + [
            (str(u.id), u.display_name) for u in services.assignable_users(user.organisation_id)
        ]
    else:
        del form.view
        del form.assigned
    if not form.validate() or _date_range_refused(form):
        return render_template("cases/index.html", form=form, page=None, query_args={}), 400
    filters = search.CaseFilters.from_form(form)
    page = search.list_cases(user, filters)
    query_args = {k: v for k, v in request.args.items(multi=False) if k in form and k != "page" and v}
    return render_template("cases/index.html", form=form, page=page, query_args=query_args), 200


def _date_range_refused(form: CaseListForm) -> bool:
    start, end = form.opened_from.data, form.opened_to.data
    if start and end and end < start:
        form.opened_to.errors = [*form.opened_to.errors, _("This is before the start of the range.")]
        return True
    return False


@bp.route("/search", methods=["GET", "POST"], endpoint="search")
@route(Permission.CASE_LIST)
def search_page() -> tuple[str, int]:
    """Exact name or document search: posted, so that no name ever appears in a URL."""
    form = SearchForm()
    if request.method == "GET":
        return render_template("cases/search.html", form=form, rows=None), 200
    if not form.validate():
        return render_template("cases/search.html", form=form, rows=None), 400
    if form.date_of_birth.data and not form.full_name.data:
        form.date_of_birth.errors = [_("A date of birth narrows a name search: enter the name too.")]
        return render_template("cases/search.html", form=form, rows=None), 400
    if not (form.full_name.data or form.document_number.data):
        form.full_name.errors = [_("Enter a name or a document number.")]
        return render_template("cases/search.html", form=form, rows=None), 400
    user = _user()
    rows = search.search_cases(user, form.full_name.data, form.date_of_birth.data, form.document_number.data)
    criteria = [name for name in ("full_name", "date_of_birth", "document_number") if form[name].data]
    writer.record_now("case.search", actor=user, details={"criteria": criteria, "results": len(rows)})
    return render_template("cases/search.html", form=form, rows=rows), 200


# -- registration -------------------------------------------------------------------------------
def _registration_page(form: RegistrationForm, status: int, **extra: Any) -> tuple[str, int]:
    extra.setdefault("duplicates", None)
    return render_template("cases/register.html", form=form, **extra), status


def _parse_ids(raw: str | None) -> set[uuid.UUID]:
    ids = set()
    for part in (raw or "").split(","):
        try:
            ids.add(uuid.UUID(part.strip()))
        except ValueError:
            continue
    return ids


@bp.route("/new", methods=["GET", "POST"])
@route(Permission.CASE_CREATE)
def register() -> tuple[str, int] | Response:
    user = _user()
    form = RegistrationForm()
    if access.has_permission(user, Permission.CASE_ASSIGN):
        staff = services.assignable_users(user.organisation_id)
        form.assigned_to.choices = [(str(u.id), u.display_name) for u in staff]
        if request.method == "GET":
            form.assigned_to.data = str(user.id)
    else:
        del form.assigned_to  # a caseworker registers cases for themself
    if request.method == "GET":
        return _registration_page(form, 200)
    if not form.validate():
        add_rule_errors(form, lambda: services.validate_details(CaseDetails.from_form(form)))
        return _registration_page(form, 400)
    details = CaseDetails.from_form(form)
    try:
        details = services.validate_details(details)
    except InputErrors as refused:
        apply_errors(form, refused.errors)
        return _registration_page(form, 400)

    # Step two of the duplicate check: show possible duplicates until every one was seen and
    # the person chose to link one of them or to continue with a new case.
    duplicates = services.find_duplicates(user, details)
    found = {candidate.id for candidate in duplicates}
    seen = _parse_ids(form.duplicates_seen.data)
    decision = (form.duplicate_decision.data or "").strip()
    form.duplicates_seen.data = ",".join(sorted(str(i) for i in found | seen))
    if found - seen:
        return _registration_page(form, 200, duplicates=duplicates, new_found=bool(seen))
    if duplicates and decision != "new":
        chosen = _parse_ids(decision)
        if not decision or len(chosen) != 1 or not chosen <= found:
            return _registration_page(
                form,
                400,
                duplicates=duplicates,
                decision_error=_("Choose one of the cases listed, or register a new case."),
            )
        same = next(candidate for candidate in duplicates if candidate.id in chosen)
        return _same_person(same)
    assignee = uuid.UUID(form.assigned_to.data) if "assigned_to" in form and form.assigned_to.data else None
    try:
        case = services.register_case(details, user, assignee_id=assignee, duplicates_shown=len(duplicates))
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _registration_page(form, 400, duplicates=duplicates or None)
    session.commit()
    flash(_("Case %(reference)s registered.", reference=case.reference), "success")
    return redirect(url_for("cases.view", case_id=case.id))


def _same_person(same: services.DuplicateCandidate) -> Response:
    """The person already has a case: register nothing, and open that case (or, when it is not
    the user's to open, say whom to ask) so that what is new is added there."""
    if same.can_open:
        flash(
            _(
                "Nothing was registered: %(reference)s is this person's case. Add what is new here.",
                reference=same.reference,
            ),
            "info",
        )
        return redirect(url_for("cases.view", case_id=same.id))
    flash(
        _(
            "Nothing was registered: %(reference)s is this person's case, assigned to %(name)s. "
            "Ask them or a supervisor to add what is new.",
            reference=same.reference,
            name=same.assignee_name or _("nobody"),
        ),
        "info",
    )
    return redirect(url_for("cases.index"))


# The case file's routes register themselves on ``bp``.
from casework.cases import file_views  # noqa: E402,F401
