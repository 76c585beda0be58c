"""Audit pages and break-glass access.

- ``/audit/``: recent events and a verify button, for administrators (no victim data exists
  in events: they carry ids and codes only).
- ``/audit/cases/<case_id>``: who looked at or changed a case, for the supervisors of the
  organisation that owns it, with every break-glass grant and its reason.
- ``/cases/break-glass``: a supervisor finds another organisation's case of a person by the
  person's identifiers, and asks for read-only emergency access with a written reason
  (``/cases/<id>/break-glass``); ``/break-glass/<id>/end`` ends one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, route
from casework.audit import break_glass
from casework.audit import writer as audit
from casework.audit.forms import (
    BreakGlassForm,
    BreakGlassSearchForm,
    EndBreakGlassForm,
    EventFilterForm,
    VerifyForm,
)
from casework.audit.models import AuditEvent
from casework.audit.verify import PROBLEMS, verify_current_chain
from casework.auth.models import Organisation, User
from casework.cases.models import BreakGlassAccess
from casework.db import session, utcnow

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50

ACTION_LABELS: dict[str, Any] = {
    "case.view": _l("Opened the case"),
    "case.load": _l("Tried to open the case (refused)"),
    "case.break_glass": _l("Emergency access (break-glass)"),
    "case.break_glass_end": _l("Emergency access ended"),
    "case.break_glass_search": _l("Searched other organisations for emergency access"),
    "case.create": _l("Registered the case"),
    "case.update": _l("Changed the case"),
    "case.assign": _l("Assigned the case"),
    "case.close": _l("Closed the case"),
    "case.erase": _l("Erased the case"),
    "login.success": _l("Signed in"),
    "login.failure": _l("Sign-in failed"),
    "login.throttled": _l("Sign-in throttled"),
    "logout": _l("Signed out"),
}


def _page_number() -> int:
    page = request.args.get("page", default=1, type=int) or 1
    return max(1, min(page, 100_000))


def actor_directory(events: Iterable[AuditEvent]) -> dict[uuid.UUID, tuple[str, str]]:
    """Display name and organisation of every actor of ``events``, in ONE query."""
    actor_ids = {event.actor_id for event in events if event.actor_id is not None}
    if not actor_ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, Organisation.name)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.id.in_(actor_ids))
    ).all()
    return {user_id: (name, org_name) for user_id, name, org_name in rows}


def _page_of(query: Any, page: int) -> tuple[list[AuditEvent], bool]:
    rows = list(session.execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).scalars())
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


# -- administrators: recent events and verification ---------------------------------------------
@bp.route("/audit/")
@route(Permission.AUDIT_VERIFY)
def events() -> str:
    form = EventFilterForm(formdata=request.args)
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if form.validate() and form.outcome.data:
        query = query.where(AuditEvent.outcome == form.outcome.data)
    page = _page_number()
    rows, has_next = _page_of(query, page)
    return render_template(
        "audit/events.html",
        events=rows,
        actors=actor_directory(rows),
        page=page,
        has_next=has_next,
        form=form,
        verify_form=VerifyForm(),
        filters={"outcome": form.outcome.data} if form.outcome.data else {},
        labels=ACTION_LABELS,
    )


@bp.route("/audit/verify", methods=["POST"])
@route(Permission.AUDIT_VERIFY)
def verify() -> Response:
    if not VerifyForm().validate_on_submit():
        flash(_("Your form expired. Please submit it again."), "error")
        return redirect(url_for("audit.events"))
    report = verify_current_chain()
    audit.record(
        "audit.verify",
        outcome="ok" if report.ok else "failed",
        details={"events": report.events, "broken_at": report.broken_at, "problem": report.problem},
    )
    session.commit()
    if report.ok:
        flash(_("The audit chain is intact: %(n)d events checked.", n=report.events), "success")
    else:
        flash(
            _(
                "The audit chain is broken at event %(id)s: %(problem)s.",
                id=report.broken_at or "—",
                problem=str(PROBLEMS.get(report.problem or "head", "")),
            ),
            "error",
        )
    return redirect(url_for("audit.events"))


# -- supervisors: the trail of one case ----------------------------------------------------------
@bp.route("/audit/cases/<uuid:case_id>")
@route(Permission.CASE_AUDIT_VIEW, case_route=True)
def case_events(case_id: uuid.UUID) -> str:
    grant = access.load_case(case_id, Permission.CASE_AUDIT_VIEW)  # audited as a view of the case
    case = grant.case
    page = _page_number()
    rows, has_next = _page_of(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id.desc()), page
    )
    grants = session.execute(
        select(BreakGlassAccess, User.display_name, Organisation.name)
        .join(User, User.id == BreakGlassAccess.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(BreakGlassAccess.case_id == case.id)
        .order_by(BreakGlassAccess.granted_at.desc())
    ).all()
    return render_template(
        "audit/case_events.html",
        case=grant.view,
        events=rows,
        actors=actor_directory(rows),
        grants=grants,
        page=page,
        has_next=has_next,
        labels=ACTION_LABELS,
        now=utcnow(),
    )


# -- supervisors: break-glass ---------------------------------------------------------------------
def _case_url(case_id: uuid.UUID) -> str:
    try:
        return url_for("cases.view", case_id=case_id)
    except BuildError:  # the case file page is not registered (yet): its agreed address
        return f"/cases/{case_id}"


def _search_page(form: BreakGlassSearchForm, matches: list[break_glass.Match] | None, status: int) -> tuple[str, int]:
    return render_template(
        "audit/break_glass.html",
        form=form,
        matches=matches,
        reason_form=BreakGlassForm(formdata=None),
        grants=break_glass.active_grants(current_user),
    ), status


@bp.route("/cases/break-glass", methods=["GET", "POST"])
@route(Permission.CASE_BREAK_GLASS)
def break_glass_form() -> tuple[str, int]:
    """Find another organisation's case of the person in front of you, by what identifies them."""
    form = BreakGlassSearchForm()
    if request.method == "GET":
        return _search_page(form, None, 200)
    if not form.validate():
        return _search_page(form, None, 400)
    strong = (form.full_name.data and form.date_of_birth.data) or form.document_number.data
    if not strong:
        form.full_name.errors = [
            *form.full_name.errors,
            _("Enter the full name with the date of birth, or an identity document number."),
        ]
        return _search_page(form, None, 400)
    matches = break_glass.search(current_user, form.full_name.data, form.date_of_birth.data, form.document_number.data)
    return _search_page(form, matches, 200)


@bp.route("/cases/<uuid:case_id>/break-glass", methods=["POST"])
@route(Permission.CASE_BREAK_GLASS, case_route=True)
def break_glass_request(case_id: uuid.UUID) -> tuple[str, int] | Response:
    """Ask for emergency access to one case (from a search result or the out-of-scope page)."""
    form = BreakGlassForm()
    status = 400
    if form.validate_on_submit():
        try:
            grant = break_glass.grant_access(current_user, case_id, form.reason.data or "")
        except break_glass.BreakGlassRefused as exc:
            session.commit()  # an audited refusal must persist
            form.reason.errors = [*form.reason.errors, str(exc)]
            status = 429 if isinstance(exc, break_glass.BreakGlassCapReached) else 400
        else:
            session.commit()
            flash(
                _(
                    "Emergency access granted for %(hours)d hours, to read only. The case's organisation "
                    "is notified and can see your reason.",
                    hours=break_glass.GRANT_HOURS,
                ),
                "warning",
            )
            return redirect(_case_url(grant.case_id))
    return render_template("audit/break_glass_request.html", form=form, case_id=case_id), status


@bp.route("/break-glass/<uuid:grant_id>/end", methods=["POST"])
@route(Permission.BREAK_GLASS_END)
def end_break_glass(grant_id: uuid.UUID) -> Response:
    """End an emergency access now: a supervisor of the case's organisation, or the visitor."""
    case_id = session.execute(
        select(BreakGlassAccess.case_id).where(BreakGlassAccess.id == grant_id)
    ).scalar_one_or_none()
    if case_id is None:
        access.refuse("case.break_glass_end", status=404, reason="not_found")
    grant = access.load_case(case_id, Permission.BREAK_GLASS_END)
    if not EndBreakGlassForm().validate_on_submit():
        flash(_("Your form expired. Please submit it again."), "error")
        return redirect(url_for("core.home"))
    try:
        break_glass.end_access(grant, grant_id)
    except LookupError:
        session.rollback()
        flash(_("This emergency access had already ended."), "info")
    else:
        session.commit()
        flash(_("The emergency access ended."), "success")
    if grant.relation is access.Relation.BREAK_GLASS:
        return redirect(url_for("audit.break_glass_form"))
    return redirect(url_for("notifications.index"))
