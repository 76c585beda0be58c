"""The work list (``/home``), task lists, a case's tasks and one task's page.

Views stay thin: parse the form, call a service, commit once, redirect; refused input re-shows
the form with its messages and a 4xx status, and nothing is saved.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, Role, route
from casework.cases.forms import parse_version
from casework.cases.validation import InputErrors, apply_errors
from casework.db import session
from casework.tasks import services, worklist
from casework.tasks.forms import TaskEditForm, TaskFilterForm, TaskForm, TaskStatusForm, title_choices
from casework.tasks.models import OPEN

bp = Blueprint("tasks", __name__)
Page = tuple[str, int]


def _user() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _assignee_choices(case: Any) -> list[tuple[str, str]]:
    return [("", _("The case's caseworker"))] + [(str(u.id), u.display_name) for u in services.assignable_users(case)]


def _assignee(form: Any) -> uuid.UUID | None:
    return uuid.UUID(form.assignee.data) if form.assignee.data else None


# -- the work list --------------------------------------------------------------------------------
@bp.route("/home")
@route(Permission.TASKS_VIEW)
def home() -> str:
    """The caseworker's (and supervisor's) home page: what is due, what waits on others."""
    user = _user()
    today = date.today()
    reminders = _reminders(user)
    return render_template(
        "tasks/home.html",
        work=worklist.work_list(user, today),
        today=today,
        supervisor=access.role_of(user) is Role.SUPERVISOR,
        partner=access.role_of(user) is Role.PARTNER,
        reminders=reminders,
    )


def _reminders(user: Any) -> list[Any]:
    from casework.notifications import reminders

    return reminders.reminders_for(user, limit=5)


@bp.route("/tasks/")
@route(Permission.TASKS_VIEW)
def index() -> Page:
    user = _user()
    form = TaskFilterForm(formdata=request.args or None)
    if access.role_of(user) is not Role.SUPERVISOR:
        del form.scope
    if not form.validate():
        return render_template("tasks/index.html", form=form, page=None, today=date.today(), query={}), 400
    due = form.due.data or "open"
    scope = form.scope.data if "scope" in form else "mine"
    page = worklist.list_tasks(user, due, scope or "mine", form.page.data or 1)
    query = {"due": due, **({"scope": scope} if "scope" in form else {})}
    return render_template("tasks/index.html", form=form, page=page, today=date.today(), query=query), 200


# -- a case's tasks -------------------------------------------------------------------------------
def _case_page(grant: access.CaseGrant, form: TaskForm | None, status: int) -> Page:
    if form is None and grant.allows(Permission.CASE_EDIT):
        form = TaskForm()
    if form is not None:
        form.title_code.choices = title_choices()
        form.assignee.choices = _assignee_choices(grant.case)
    user = grant.user
    page = worklist.list_tasks(user, "all", "case", 1, case_id=grant.case.id)
    return render_template("tasks/case.html", case=grant.view, form=form, page=page, today=date.today()), status


@bp.route("/cases/<uuid:case_id>/tasks")
@route(Permission.CASE_READ, case_route=True)
def case_tasks(case_id: uuid.UUID) -> Page:
    grant = access.load_case(case_id, Permission.CASE_READ)
    return _case_page(grant, None, 200)


@bp.route("/cases/<uuid:case_id>/tasks/new", methods=["POST"])
@route(Permission.CASE_EDIT, case_route=True)
def add(case_id: uuid.UUID) -> Page | Response:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    form = TaskForm()
    form.title_code.choices = title_choices()
    form.assignee.choices = _assignee_choices(grant.case)
    if not form.validate():
        return _case_page(grant, form, 400)
    try:
        task = services.create_task(
            grant,
            title_code=form.title_code.data,
            title=form.title.data,
            due_on=form.due_on.data,
            assignee_id=_assignee(form),
        )
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _case_page(access.load_case(case_id, Permission.CASE_EDIT), form, 400)
    session.commit()
    if task.due_on < date.today():
        flash(_("Task added. Its due date is in the past: it shows as overdue."), "warning")
    else:
        flash(_("Task added."), "success")
    return redirect(url_for("tasks.case_tasks", case_id=case_id))


# -- one task -------------------------------------------------------------------------------------
def _task_page(task: Any, grant: access.CaseGrant, status: int, **forms: Any) -> Page:
    may_edit = grant.allows(Permission.CASE_EDIT)
    edit_form = forms.get("edit_form")
    status_form = forms.get("status_form")
    if may_edit:
        if edit_form is None:
            edit_form = TaskEditForm(
                due_on=task.due_on,
                assignee=str(task.assignee_id) if task.assignee_id else "",
                version_id=str(task.version_id),
            )
        edit_form.assignee.choices = _assignee_choices(grant.case)
        status_form = status_form or TaskStatusForm(version_id=str(task.version_id))
    return render_template(
        "tasks/view.html",
        task=task,
        case=grant.view,
        title=services.title_of(task, grant),
        may_edit=may_edit,
        edit_form=edit_form if may_edit else None,
        status_form=status_form if may_edit else None,
        today=date.today(),
        open_status=OPEN,
    ), status


@bp.route("/tasks/<uuid:task_id>")
@route(Permission.CASE_READ, case_route=True)
def view(task_id: uuid.UUID) -> Page:
    task, grant = services.load_task(task_id, Permission.CASE_READ)
    return _task_page(task, grant, 200)


@bp.route("/tasks/<uuid:task_id>/edit", methods=["POST"])
@route(Permission.CASE_EDIT, case_route=True)
def edit(task_id: uuid.UUID) -> Page | Response:
    task, grant = services.load_task(task_id, Permission.CASE_EDIT)
    form = TaskEditForm()
    form.assignee.choices = _assignee_choices(grant.case)
    if not form.validate():
        return _task_page(task, grant, 400, edit_form=form)
    version = parse_version(form.version_id.data)
    if version is None:
        abort(400)
    try:
        changed = services.update_task(
            grant, task, due_on=form.due_on.data, assignee_id=_assignee(form), expected_version=version
        )
    except services.VersionConflict:
        session.rollback()
        flash(_("Someone else changed this task. Here it is as it is now."), "warning")
        return redirect(url_for("tasks.view", task_id=task_id)), 409  # type: ignore[return-value]
    except InputErrors as refused:
        session.rollback()
        task, grant = services.load_task(task_id, Permission.CASE_EDIT)
        apply_errors(form, refused.errors)
        return _task_page(task, grant, 400, edit_form=form)
    session.commit()
    flash(_("Saved.") if changed else _("Nothing was changed."), "success" if changed else "info")
    return redirect(url_for("tasks.view", task_id=task_id))


@bp.route("/tasks/<uuid:task_id>/status", methods=["POST"])
@route(Permission.CASE_EDIT, case_route=True)
def change_status(task_id: uuid.UUID) -> Page | Response:
    task, grant = services.load_task(task_id, Permission.CASE_EDIT)
    form = TaskStatusForm()
    version = parse_version(form.version_id.data)
    if not form.validate() or version is None:
        return _task_page(task, grant, 400, status_form=form)
    action = {"done": services.complete_task, "cancelled": services.cancel_task, "open": services.reopen_task}
    try:
        action[form.action.data](grant, task, version)
    except services.VersionConflict:
        session.rollback()
        flash(_("Someone else changed this task. Here it is as it is now."), "warning")
        return redirect(url_for("tasks.view", task_id=task_id)), 409  # type: ignore[return-value]
    except InputErrors as refused:
        session.rollback()
        task, grant = services.load_task(task_id, Permission.CASE_EDIT)
        apply_errors(form, {"action": [m for messages in refused.errors.values() for m in messages]})
        return _task_page(task, grant, 400, status_form=form)
    session.commit()
    flash(_("Saved."), "success")
    return redirect(
        request.form.get("next") == "list" and url_for("tasks.index") or url_for("tasks.view", task_id=task_id)
    )
