"""Administration of user accounts (registered on the admin blueprint).

One-time passwords are shown once, in the response to the POST that made them: never put in
the session cookie, a URL or a log, and the page is never cached (Cache-Control: no-store).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from casework import access, vocab
from casework.access import Permission, route
from casework.admin import services
from casework.admin.forms import ConfirmForm, IdentityCheckedForm, RoleForm, UserCreateForm, UserFilterForm
from casework.admin.views import PAGE_SIZE, add_error, bp, page_number, refusal_status
from casework.auth.models import Organisation, User
from casework.auth.passwords import PasswordPolicyError
from casework.db import session, utcnow


def _organisation_choices(empty_label: str | None = None) -> list[tuple[str, str]]:
    """The organisations the current administrator creates accounts in: its own (the operator:
    every one)."""
    query = select(Organisation.id, Organisation.name).order_by(Organisation.name)
    if access.role_of(current_user) is not access.Role.OPERATOR:
        query = query.where(Organisation.id == current_user.organisation_id)
    choices = [(str(org_id), name) for org_id, name in session.execute(query).all()]
    return [("", empty_label), *choices] if empty_label is not None else choices


def _role_choices() -> list[tuple[str, str]]:
    allowed = {role.value for role in access.assignable_roles(current_user)}
    return [(code, label) for code, label in vocab.ROLES.choices() if code in allowed]


def _load_user(user_id: uuid.UUID) -> User:
    """An account the current administrator administers (access.user_scope), or a 404 audited
    as a refusal: another organisation's accounts do not exist for it."""
    user = session.execute(select(User).where(User.id == user_id, access.user_scope(current_user))).scalar_one_or_none()
    if user is None:
        access.refuse("admin.user_load", status=404, reason="out_of_scope")
    return user


@bp.route("/users")
@route(Permission.ADMIN_USERS)
def users() -> str:
    form = UserFilterForm(formdata=request.args)
    form.organisation_id.choices = _organisation_choices(_("Any organisation"))
    query = select(User).where(access.user_scope(current_user)).order_by(User.display_name, User.email)
    if form.validate():
        if form.role.data:
            query = query.where(User.role == form.role.data)
        if form.organisation_id.data:
            query = query.where(User.organisation_id == uuid.UUID(form.organisation_id.data))
        if form.status.data == "active":
            query = query.where(User.active.is_(True))
        elif form.status.data == "inactive":
            query = query.where(User.active.is_(False))
        elif form.status.data == "locked":
            query = query.where(User.locked_until > utcnow())
    page = page_number()
    rows = list(session.execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).scalars().unique())
    filters = {key: value for key, value in request.args.items() if key != "page" and key in form and value}
    return render_template(
        "admin/users.html",
        form=form,
        users=rows[:PAGE_SIZE],
        page=page,
        has_next=len(rows) > PAGE_SIZE,
        filters=filters,
        now=utcnow(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@route(Permission.ADMIN_USERS)
def user_new() -> str | tuple[str, int] | Response:
    form = UserCreateForm()
    form.organisation_id.choices = _organisation_choices(_("Choose an organisation"))
    form.role.choices = _role_choices()
    if request.method == "GET" and access.role_of(current_user) is access.Role.ADMIN:
        form.organisation_id.data = str(current_user.organisation_id)
    if form.validate_on_submit():
        org = session.get(Organisation, uuid.UUID(form.organisation_id.data or ""))
        password = services.generate_one_time_password()
        try:
            if org is None:
                raise services.AccountError(_("Choose an organisation."), "organisation_id")
            user = services.create_user(
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                role=form.role.data or "",
                organisation=org,
                password=password,
                must_change_password=True,
                actor=current_user,
            )
        except (services.AccountError, PasswordPolicyError) as exc:
            session.rollback()
            error = exc if isinstance(exc, services.AccountError) else services.AccountError(str(exc))
            add_error(form, error, default="email")
            return render_template("admin/user_form.html", form=form), 400
        session.commit()
        return render_template("admin/one_time_password.html", user=user, password=password, new=True)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form), status


def _detail_forms(user: User) -> dict[str, FlaskForm]:
    """The forms of the user page; only the submitted one reads the request."""
    submitted = request.endpoint if request.method == "POST" else None

    def make(form_class: type[FlaskForm], endpoint: str, prefix: str, **kwargs: Any) -> FlaskForm:
        if submitted == endpoint:
            return form_class(prefix=prefix)
        return form_class(formdata=None, prefix=prefix, **kwargs)

    role_form = make(RoleForm, "admin.user_role", "role", role=user.role)
    role_form.role.choices = _role_choices()  # type: ignore[attr-defined]
    return {
        "role_form": role_form,
        "active_form": make(ConfirmForm, "admin.user_deactivate" if user.active else "admin.user_reactivate", "act"),
        "password_form": make(IdentityCheckedForm, "admin.user_reset_password", "pw"),
        "totp_form": make(IdentityCheckedForm, "admin.user_reset_two_factor", "tf"),
    }


def _detail_page(user: User, forms: dict[str, FlaskForm], status: int = 200) -> tuple[str, int]:
    locked = user.locked_until is not None and user.locked_until > utcnow()
    page = render_template("admin/user.html", user=user, locked=locked, is_self=user.id == current_user.id, **forms)
    return page, status


@bp.route("/users/<uuid:user_id>")
@route(Permission.ADMIN_USERS)
def user_detail(user_id: uuid.UUID) -> tuple[str, int]:
    user = _load_user(user_id)
    return _detail_page(user, _detail_forms(user))


def _refused(user: User, forms: dict[str, FlaskForm], form_name: str, error: services.AccountError) -> tuple[str, int]:
    session.rollback()
    user = _load_user(user.id)
    form = forms[form_name]
    field_name = error.field if error.field in form else next(name for name in form._fields if name != "csrf_token")
    form[field_name].errors = [*form[field_name].errors, str(error)]
    return _detail_page(user, forms, refusal_status(error))


@bp.route("/users/<uuid:user_id>/role", methods=["POST"])
@route(Permission.ADMIN_USERS)
def user_role(user_id: uuid.UUID) -> tuple[str, int] | Response:
    user = _load_user(user_id)
    forms = _detail_forms(user)
    form = forms["role_form"]
    if not form.validate_on_submit():
        return _detail_page(user, forms, 400)
    try:
        services.change_role(user, form.role.data or "", actor=current_user)  # type: ignore[attr-defined]
    except services.AccountError as exc:
        return _refused(user, forms, "role_form", exc)
    session.commit()
    flash(_("The role was changed. The user's sessions ended."), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


def _state_change(user_id: uuid.UUID, change: Any, message: str) -> tuple[str, int] | Response:
    user = _load_user(user_id)
    forms = _detail_forms(user)
    if not forms["active_form"].validate_on_submit():
        return _detail_page(user, forms, 400)
    try:
        change(user, actor=current_user)
    except services.AccountError as exc:
        session.rollback()
        user = _load_user(user_id)
        flash(str(exc), "error")
        return _detail_page(user, _detail_forms(user), refusal_status(exc))
    session.commit()
    flash(message, "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<uuid:user_id>/deactivate", methods=["POST"])
@route(Permission.ADMIN_USERS)
def user_deactivate(user_id: uuid.UUID) -> tuple[str, int] | Response:
    return _state_change(user_id, services.deactivate_user, _("The account is deactivated; its sessions ended."))


@bp.route("/users/<uuid:user_id>/reactivate", methods=["POST"])
@route(Permission.ADMIN_USERS)
def user_reactivate(user_id: uuid.UUID) -> tuple[str, int] | Response:
    return _state_change(user_id, services.reactivate_user, _("The account can sign in again."))


@bp.route("/users/<uuid:user_id>/reset-password", methods=["POST"])
@route(Permission.ADMIN_USERS)
def user_reset_password(user_id: uuid.UUID) -> tuple[str, int] | str:
    """A new one-time password, shown in this response only."""
    user = _load_user(user_id)
    forms = _detail_forms(user)
    if not forms["password_form"].validate_on_submit():
        return _detail_page(user, forms, 400)
    try:
        password = services.reset_password(user, actor=current_user)
    except services.AccountError as exc:
        return _refused(user, forms, "password_form", exc)
    session.commit()
    return render_template("admin/one_time_password.html", user=user, password=password, new=False)


@bp.route("/users/<uuid:user_id>/reset-two-factor", methods=["POST"])
@route(Permission.ADMIN_USERS)
def user_reset_two_factor(user_id: uuid.UUID) -> tuple[str, int] | Response:
    user = _load_user(user_id)
    forms = _detail_forms(user)
    if not forms["totp_form"].validate_on_submit():
        return _detail_page(user, forms, 400)
    try:
        services.reset_two_factor(user, actor=current_user)
    except services.AccountError as exc:
        return _refused(user, forms, "totp_form", exc)
    session.commit()
    flash(_("Two-factor authentication was reset: the user sets it up again at the next sign-in."), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))
