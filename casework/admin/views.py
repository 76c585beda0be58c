"""Administration: organisations and user accounts. Administrators never see case content.

Thin views: parse the form, call casework.admin.services, commit once, redirect. A refused
change re-renders the form with the user's input and a 400 (bad input) or 409 (conflict).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, route
from casework.admin import services
from casework.admin.forms import OrganisationCreateForm, OrganisationEditForm
from casework.auth.models import Organisation, User
from casework.db import session

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


def page_number() -> int:
    """The ``page`` query parameter (1-based); anything odd means the first page."""
    page = request.args.get("page", default=1, type=int) or 1
    return max(1, min(page, 100_000))


def add_error(form: FlaskForm, error: services.AccountError, default: str) -> None:
    """Show a refused change next to the field it is about."""
    field = form[error.field] if error.field and error.field in form else form[default]
    field.errors = [*field.errors, str(error)]


def refusal_status(error: services.AccountError) -> int:
    return 409 if isinstance(error, services.LastAdminError | services.AccountStateError) else 400


@bp.route("/")
@route(Permission.ADMIN_USERS)
def index() -> str:
    counts: dict[bool, int] = {
        bool(active): int(count)
        for active, count in session.execute(
            select(User.active, func.count()).where(access.user_scope(current_user)).group_by(User.active)
        )
    }
    org_count = session.execute(select(func.count()).select_from(Organisation)).scalar_one()
    return render_template(
        "admin/index.html",
        active_users=counts.get(True, 0),
        inactive_users=counts.get(False, 0),
        org_count=org_count,
    )


# -- organisations ------------------------------------------------------------------------------
@bp.route("/organisations")
@route(Permission.ADMIN_ORGS)
def organisations() -> str:
    member_counts = (
        select(User.organisation_id, func.count().label("members")).group_by(User.organisation_id).subquery()
    )
    rows = session.execute(
        select(Organisation, func.coalesce(member_counts.c.members, 0))
        .outerjoin(member_counts, member_counts.c.organisation_id == Organisation.id)
        .order_by(Organisation.name)
    ).all()
    return render_template("admin/organisations.html", rows=rows)


@bp.route("/organisations/new", methods=["GET", "POST"])
@route(Permission.ADMIN_ORGS)
def organisation_new() -> str | tuple[str, int] | Response:
    form = OrganisationCreateForm()
    if form.validate_on_submit():
        try:
            org = services.create_organisation(
                name=form.name.data or "",
                kind=form.kind.data or "",
                country=form.country.data or None,
                retention_years=form.retention_years.data,
                actor=current_user,
            )
        except services.AccountError as exc:
            session.rollback()
            add_error(form, exc, default="name")
            return render_template("admin/organisation_form.html", form=form, org=None), 400
        session.commit()
        flash(_("Organisation %(name)s created.", name=org.name), "success")
        return redirect(url_for("admin.organisations"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/organisation_form.html", form=form, org=None), status


@bp.route("/organisations/<uuid:org_id>", methods=["GET", "POST"])
@route(Permission.ADMIN_ORGS)
def organisation_edit(org_id: uuid.UUID) -> str | tuple[str, int] | Response:
    org = session.get(Organisation, org_id)
    if org is None:
        abort(404)
    form = OrganisationEditForm(obj=org) if request.method == "GET" else OrganisationEditForm()
    if request.method == "GET":
        form.country.data = org.country or ""
    if form.validate_on_submit():
        try:
            changed = services.update_organisation(
                org,
                kind=form.kind.data or "",
                country=form.country.data or None,
                active=bool(form.active.data),
                retention_years=form.retention_years.data,
                actor=current_user,
            )
        except services.AccountError as exc:
            session.rollback()
            add_error(form, exc, default="kind")
            return render_template("admin/organisation_form.html", form=form, org=org), refusal_status(exc)
        session.commit()
        flash(_("Saved.") if changed else _("Nothing changed."), "success" if changed else "info")
        return redirect(url_for("admin.organisations"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/organisation_form.html", form=form, org=org), status


from casework.admin import user_views  # noqa: E402,F401  (registers the user pages on bp)
