"""Research exports: researchers choose, review the loss report, download; supervisors set limits.

Researchers (Permission.EXPORT_RESEARCH) never see a case: these pages show only anonymised
output and counts. Views are thin: parse the form, call the service, commit once, redirect.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casework.access import Permission, route
from casework.db import session
from casework.exports import services, storage
from casework.exports.forms import MicrodataForm, SettingsForm, TableForm
from casework.exports.models import ExportSettings

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _forms(settings: ExportSettings, formdata: bool) -> tuple[MicrodataForm, TableForm]:
    """Both request forms bound to the limits; only the posted one reads the request."""
    microdata = MicrodataForm() if formdata else MicrodataForm(formdata=None, k=settings.min_k)
    table = TableForm() if formdata else TableForm(formdata=None, threshold=settings.min_threshold)
    microdata.set_minimum(settings.min_k)
    table.configure(list(settings.allowed_dimensions), settings.min_threshold)
    return microdata, table


def _index_page(
    settings: ExportSettings, microdata: MicrodataForm, table: TableForm, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "exports/index.html",
        settings=settings,
        microdata=microdata,
        table=table,
        runs=services.recent_runs(current_user),
        dimension_labels=services.dimension_labels,
        status_label=services.status_label,
    ), status


@bp.route("/")
@route(Permission.EXPORT_RESEARCH)
def index() -> tuple[str, int]:
    settings = services.current_settings()
    microdata, table = _forms(settings, formdata=False)
    return _index_page(settings, microdata, table)


@bp.route("/microdata", methods=["POST"])
@route(Permission.EXPORT_RESEARCH)
def microdata() -> Response | tuple[str, int]:
    settings = services.current_settings()
    _unused, table = _forms(settings, formdata=False)
    form = MicrodataForm()
    form.set_minimum(settings.min_k)
    if not form.validate_on_submit():
        return _index_page(settings, form, table, 400)
    request = services.MicrodataRequest(k=form.k.data, priority=tuple(form.priority.data or ()))
    try:
        services.purge_expired_files()
        run = services.run_microdata(request, current_user)
    except services.ExportRefused as refused:
        session.rollback()
        _attach_error(form, refused, "k")
        return _index_page(services.current_settings(), form, table, 409 if refused.field is None else 400)
    session.commit()
    return redirect(url_for(".report", export_id=run.id))


@bp.route("/table", methods=["POST"])
@route(Permission.EXPORT_RESEARCH)
def table() -> Response | tuple[str, int]:
    settings = services.current_settings()
    microdata, _unused = _forms(settings, formdata=False)
    form = TableForm()
    form.configure(list(settings.allowed_dimensions), settings.min_threshold)
    if not form.validate_on_submit():
        return _index_page(settings, microdata, form, 400)
    chosen = set(form.dimensions.data)
    request = services.TableRequest(
        dimensions=tuple(name for name, _label in form.dimensions.choices if name in chosen),
        threshold=form.threshold.data,
        rounding=form.rounding.data,
    )
    try:
        services.purge_expired_files()
        run = services.run_table(request, current_user)
    except services.ExportRefused as refused:
        session.rollback()
        _attach_error(form, refused, "dimensions")
        return _index_page(services.current_settings(), microdata, form, 400)
    session.commit()
    return redirect(url_for(".report", export_id=run.id))


def _attach_error(form: Any, refused: services.ExportRefused, default_field: str) -> None:
    name = refused.field if refused.field in form else default_field
    form[name].errors = [*form[name].errors, str(refused)]


@bp.route("/runs/<uuid:export_id>")
@route(Permission.EXPORT_RESEARCH)
def report(export_id: uuid.UUID) -> str:
    run = services.own_run(export_id, current_user)
    if run is None:
        abort(404)
    suppressed: list[tuple[str, int, int]] = []
    if run.kind == services.KIND_MICRODATA and run.report:
        generalised = run.report.get("cells_generalised", {})
        suppressed = sorted(
            ((name, count, generalised.get(name, 0)) for name, count in run.report.get("cells_suppressed", {}).items()),
            key=lambda item: (-item[1], item[0]),
        )
    return render_template(
        "exports/report.html",
        run=run,
        suppressed=suppressed,
        preview=services.preview(run),
        available=services.preview(run, 0) is not None,
        dimension_labels=services.dimension_labels,
        rounding_label=services.rounding_label,
    )


@bp.route("/runs/<uuid:export_id>/download")
@route(Permission.EXPORT_RESEARCH)
def download(export_id: uuid.UUID) -> Response:
    run = services.own_run(export_id, current_user)
    if run is None:
        abort(404)
    kind = "ctdc" if run.kind == services.KIND_MICRODATA else "table"
    name = f"casework-{kind}-{run.started_at:%Y%m%d}-{str(run.id)[:8]}.csv"
    try:
        answer = storage.response(services.download(run, current_user), name)
    except LookupError:
        session.rollback()
        abort(404)
    session.commit()
    return answer


@bp.route("/settings", methods=["GET", "POST"])
@route(Permission.EXPORT_CONFIGURE)
def settings() -> Response | tuple[str, int]:
    saved = services.current_settings()
    form = SettingsForm(
        min_k=saved.min_k,
        min_threshold=saved.min_threshold,
        max_dimensions=saved.max_dimensions,
        allowed_dimensions=list(saved.allowed_dimensions),
        version_id=services.settings_version(saved),
    )
    if not form.is_submitted():
        return _settings_page(form, saved)
    if not form.validate():
        return _settings_page(form, saved, status=400)
    try:
        services.update_settings(
            current_user,
            min_k=form.min_k.data,
            min_threshold=form.min_threshold.data,
            max_dimensions=form.max_dimensions.data,
            allowed_dimensions=form.allowed_dimensions.data or [],
            version_id=int(form.version_id.data or 0),
        )
    except services.SettingsConflict:
        session.rollback()
        saved = services.current_settings()
        # Keep the user's input; a second save (now on the current version) overrides.
        form.version_id.data = str(services.settings_version(saved))
        return _settings_page(form, saved, status=409, conflict=True)
    except services.ExportRefused as refused:
        session.rollback()
        _attach_error(form, refused, "min_k")
        return _settings_page(form, services.current_settings(), status=400)
    session.commit()
    flash(_("Export limits saved."), "success")
    return redirect(url_for(".settings"))


def _settings_page(
    form: SettingsForm, saved: ExportSettings, status: int = 200, conflict: bool = False
) -> tuple[str, int]:
    runs = services.recent_runs(None, limit=50)
    return render_template(
        "exports/settings.html",
        form=form,
        saved=saved,
        conflict=conflict,
        runs=runs,
        dimension_labels=services.dimension_labels,
        status_label=services.status_label,
        requesters=services.requester_names(runs),
    ), status
