"""Assistance pages: record a service of a kind, view it, edit it, change its status, and add
reintegration follow-up visits. Thin: parse the form, call the service, commit once, redirect;
a refused change re-renders the form (400, or 409 on a version conflict) with the input intact.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import StringField, TextAreaField

from casework import access, vocab
from casework.access import Permission, route
from casework.assistance import services
from casework.assistance.forms import FORMS, FollowUpForm, ServiceForm, StatusForm
from casework.assistance.models import SERVICE_MODELS, ReintegrationAssistance, Service
from casework.db import session

# No URL prefix: new records hang under their case (/cases/<id>/assistance/...), existing ones
# under /assistance/<id>.
bp = Blueprint("assistance", __name__)


@bp.app_context_processor
def _assistance_helpers() -> dict[str, Any]:
    return {
        # For templates/assistance/_case_section.html, included by the case file page.
        "assistance_for_case": lambda case: services.services_for_case(case, current_user),
        "service_kinds": list(SERVICE_MODELS),
    }


def _build_form(service: Service | None, kind: str, case_row: Any, **kwargs: Any) -> ServiceForm:
    current = service.provider_org_id if service is not None else None
    return FORMS[kind](
        obj=service,
        provider_choices=services.provider_choices(current_user, case_row, current),
        allow_blank_provider=access.role_of(current_user) is not access.Role.PARTNER,
        editing=service is not None,
        **kwargs,
    )


def _free_text_fields(form: ServiceForm, service: Service) -> list[str]:
    """The form's fields holding free text stored on the record (notes, details, names)."""
    return [
        name
        for name in form.model_field_names()
        if isinstance(form[name], (StringField, TextAreaField)) and isinstance(getattr(service, name, None), str)
    ]


def _mask_form(form: ServiceForm, service: Service, grant: access.CaseGrant) -> None:
    """A partner's edit form shows stored free text as the partner may read it (masked)."""
    for name in _free_text_fields(form, service):
        form[name].data = grant.free_text(getattr(service, name))


def _keep_masked(values: dict[str, Any], service: Service, grant: access.CaseGrant, form: ServiceForm) -> None:
    """Free text sent back exactly as it was shown masked is unchanged: keep the stored value
    (the mask never overwrites what the owner organisation wrote)."""
    for name in _free_text_fields(form, service):
        stored = getattr(service, name)
        if values.get(name) is not None and values[name] == grant.free_text(stored) != stored:
            values[name] = stored


def _refused(form: Any, error: services.ServiceRefused) -> None:
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, str(error)]
    else:
        form.form_errors.append(str(error))


@bp.route("/cases/<uuid:case_id>/assistance/<kind>/new", methods=["GET", "POST"])
@route(Permission.SERVICE_RECORD, case_route=True)
def create(case_id: uuid.UUID, kind: str) -> Any:
    if kind not in FORMS:
        abort(404)
    grant = access.load_case(case_id, Permission.SERVICE_RECORD)
    form = _build_form(None, kind, grant.case)
    if form.validate_on_submit():
        try:
            service = services.create_service(grant, kind, form.model_values())
        except services.ServiceRefused as error:
            session.rollback()
            _refused(form, error)
        else:
            session.commit()
            flash(_("Assistance recorded."), "success")
            return redirect(url_for(".view", service_id=service.id))
    status = 400 if form.is_submitted() else 200
    return render_template("assistance/form.html", form=form, case=grant.view, service=None), status


@bp.route("/assistance/<uuid:service_id>")
@route(Permission.CASE_READ)
def view(service_id: uuid.UUID) -> Any:
    service, grant = services.load_service(service_id, Permission.CASE_READ)
    return _render_view(service, grant)


def _render_view(
    service: Service,
    grant: access.CaseGrant,
    status_form: StatusForm | None = None,
    follow_up_form: FollowUpForm | None = None,
    http_status: int = 200,
) -> tuple[str, int]:
    details = _build_form(service, service.kind, grant.case, formdata=None)
    if status_form is None:
        status_form = StatusForm(formdata=None, obj=service)
    status_form.status.choices = [
        c for c in status_form.status.choices if c.value in services.allowed_statuses(service.status, grant)
    ]
    if follow_up_form is None and isinstance(service, ReintegrationAssistance):
        follow_up_form = FollowUpForm(formdata=None)
    visits = service.follow_ups if isinstance(service, ReintegrationAssistance) else []
    page = render_template(
        "assistance/view.html",
        service=service,
        details=details,
        # Every free text of the record through the one rendering for this reader (masked for
        # a partner): details, notes, names typed by staff.
        rows=[(name, label, grant.free_text(text)) for name, label, text in details.display_rows()],
        status_form=status_form,
        follow_up_form=follow_up_form,
        follow_ups=[(visit, grant.free_text(visit.notes)) for visit in visits],
        case=grant.view,
        final=service.status in services.FINAL_STATUSES,
    )
    return page, http_status


@bp.route("/assistance/<uuid:service_id>/edit", methods=["GET", "POST"])
@route(Permission.SERVICE_RECORD)
def edit(service_id: uuid.UUID) -> Any:
    service, grant = services.load_service(service_id, Permission.SERVICE_RECORD)
    form = _build_form(service, service.kind, service.case)
    if not form.is_submitted():
        _mask_form(form, service, grant)
    if form.validate_on_submit():
        values = form.model_values()
        _keep_masked(values, service, grant, form)
        try:
            services.update_service(grant, service, values, form.expected_version())
        except services.VersionConflict:
            return _conflict(service_id, form, action=url_for(".edit", service_id=service_id))
        except services.ServiceRefused as error:
            session.rollback()
            service, grant = services.load_service(service_id, Permission.SERVICE_RECORD)
            _refused(form, error)
        else:
            session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for(".view", service_id=service_id))
    status = 400 if form.is_submitted() else 200
    return render_template("assistance/form.html", form=form, case=grant.view, service=service), status


@bp.route("/assistance/<uuid:service_id>/status", methods=["POST"])
@route(Permission.SERVICE_RECORD)
def change_status(service_id: uuid.UUID) -> Any:
    service, grant = services.load_service(service_id, Permission.SERVICE_RECORD)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            changed = services.change_status(grant, service, form.status.data, form.expected_version())
        except services.VersionConflict:
            return _conflict(service_id, form, action=url_for(".change_status", service_id=service_id))
        except services.ServiceRefused as error:
            session.rollback()
            service, grant = services.load_service(service_id, Permission.SERVICE_RECORD)
            _refused(form, error)
        else:
            session.commit()
            if changed:
                flash(_("Status changed."), "success")
            return redirect(url_for(".view", service_id=service_id))
    return _render_view(service, grant, status_form=form, http_status=400)


@bp.route("/assistance/<uuid:service_id>/follow-ups", methods=["POST"])
@route(Permission.SERVICE_RECORD)
def add_follow_up(service_id: uuid.UUID) -> Any:
    service, grant = services.load_service(service_id, Permission.SERVICE_RECORD)
    if not isinstance(service, ReintegrationAssistance):
        abort(404)
    form = FollowUpForm()
    if form.validate_on_submit():
        services.add_follow_up(grant, service, form.model_values())
        session.commit()
        flash(_("Follow-up visit added."), "success")
        return redirect(url_for(".view", service_id=service_id) + "#follow-ups")
    return _render_view(service, grant, follow_up_form=form, http_status=400)


def _conflict(service_id: uuid.UUID, mine: Any, action: str) -> tuple[str, int]:
    """409: show the user's version next to the saved one, and keep the user's version in a
    form bound to the saved version, so saving it again is a deliberate choice."""
    session.rollback()
    current, grant = services.load_service(service_id, Permission.SERVICE_RECORD)
    saved = _build_form(current, current.kind, current.case, formdata=None)
    mine.version_id.data = str(current.version_id)
    mine.version_id.raw_data = [str(current.version_id)]
    if isinstance(mine, StatusForm):
        mine.status.choices = [
            c for c in mine.status.choices if c.value in services.allowed_statuses(current.status, grant)
        ]
    saved_text = {name: grant.free_text(text) for name, _label, text in saved.display_rows()}
    rows = [(label, grant.free_text(text), saved_text.get(name, "")) for name, label, text in mine.display_rows()]
    page = render_template(
        "assistance/conflict.html",
        form=mine,
        rows=rows,
        service=current,
        action=action,
        kind_label=vocab.SERVICE_KINDS.label(current.kind),
        case=grant.view,
    )
    return page, 409
