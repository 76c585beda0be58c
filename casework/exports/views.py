"""Research releases: researchers choose, review the loss and utility report, download;
supervisors set their own organisation's policy and see its ledger.

Researchers (Permission.EXPORT_RESEARCH) never see a case: these pages show only released
output, counts and summaries. Views are thin: parse the form, call the service, commit once,
redirect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casework.access import Permission, route
from casework.db import session
from casework.exports import columns, policy, services, storage, tables
from casework.exports.forms import DpTableForm, MicrodataForm, PolicyForm, SyntheticForm, TableForm
from casework.exports.models import ExportRun

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _dataset_choices() -> list[tuple[str, str]]:
    return [(str(org_id), name) for org_id, name in policy.datasets()]


def _forms(formdata: str | None = None) -> dict[str, Any]:
    """The four request forms; only the posted one (``formdata``) reads the request."""
    choices = _dataset_choices()
    built: dict[str, Any] = {}
    for name, form_class in (
        ("microdata", MicrodataForm),
        ("table", TableForm),
        ("synthetic", SyntheticForm),
        ("dp_table", DpTableForm),
    ):
        form = form_class() if name == formdata else form_class(formdata=None)
        form.set_datasets(choices)
        if isinstance(form, TableForm):
            form.configure(list(tables.DIMENSIONS))
        if name != formdata:
            if isinstance(form, MicrodataForm):
                form.k.data = policy.FLOOR_K
            if isinstance(form, TableForm):
                form.threshold.data = policy.FLOOR_THRESHOLD
        built[name] = form
    return built


def _limits() -> list[dict[str, Any]]:
    """Each dataset's policy, as researchers may see it (no names of anyone, no counts)."""
    out = []
    for org_id, name in policy.datasets():
        rules = policy.policy_for(org_id)
        out.append(
            {
                "name": name,
                "min_k": rules.min_k,
                "min_threshold": rules.min_threshold,
                "max_dimensions": rules.max_dimensions,
                "dimensions": services.dimension_labels(rules.allowed_dimensions),
                "epsilon_left": policy.remaining_epsilon(rules),
            }
        )
    return out


def _index_page(forms: dict[str, Any], status: int = 200) -> tuple[str, int]:
    return render_template(
        "exports/index.html",
        forms=forms,
        limits=_limits(),
        runs=services.recent_runs(current_user),
        kind_label=services.kind_label,
        status_label=services.status_label,
    ), status


@bp.route("/")
@route(Permission.EXPORT_RESEARCH)
def index() -> tuple[str, int]:
    return _index_page(_forms())


def _attach_error(form: Any, refused: services.ExportRefused, default_field: str) -> None:
    name = refused.field if refused.field in form else default_field
    form[name].errors = [*form[name].errors, str(refused)]


def _release(name: str, build: Callable[[Any], Any], run: Callable[[Any], ExportRun], default_field: str) -> Any:
    """Validate the posted form, run the release, commit once; a refusal (outside the policy,
    over the budget) rolls back: nothing released, nothing spent."""
    forms = _forms(formdata=name)
    form = forms[name]
    if not form.validate_on_submit():
        return _index_page(forms, 400)
    try:
        services.purge_expired_files()
        released = run(build(form))
    except services.ExportRefused as refused:
        session.rollback()
        _attach_error(form, refused, default_field)
        return _index_page(_merge(forms, name, form), 409 if refused.field is None else 400)
    session.commit()
    return redirect(url_for(".report", export_id=released.id))


def _merge(forms: dict[str, Any], name: str, form: Any) -> dict[str, Any]:
    fresh = _forms()
    fresh[name] = form
    return fresh


def _dataset(form: Any) -> uuid.UUID:
    return uuid.UUID(form.dataset.data)


def _chosen_dimensions(form: TableForm) -> tuple[str, ...]:
    chosen = set(form.dimensions.data or ())
    return tuple(name for name, _label in form.dimensions.choices if name in chosen)


@bp.route("/microdata", methods=["POST"])
@route(Permission.EXPORT_RESEARCH)
def microdata() -> Any:
    return _release(
        "microdata",
        lambda form: services.MicrodataRequest(
            dataset=_dataset(form),
            k=form.k.data,
            view=form.view.data,
            columns=tuple(form.columns.data or ()),
            extended=bool(form.extended.data),
            priority=tuple(form.priority.data or ()),
        ),
        lambda request: services.run_microdata(request, current_user),
        "k",
    )


@bp.route("/table", methods=["POST"])
@route(Permission.EXPORT_RESEARCH)
def table() -> Any:
    return _release(
        "table",
        lambda form: services.TableRequest(
            dataset=_dataset(form), dimensions=_chosen_dimensions(form), threshold=form.threshold.data
        ),
        lambda request: services.run_table(request, current_user),
        "dimensions",
    )


@bp.route("/synthetic", methods=["POST"])
@route(Permission.EXPORT_RESEARCH)
def synthetic() -> Any:
    return _release(
        "synthetic",
        lambda form: services.SyntheticRequest(
            dataset=_dataset(form),
            epsilon=form.epsilon.data,
            view=form.view.data,
            columns=tuple(form.columns.data or ()),
        ),
        lambda request: services.run_synthetic(request, current_user),
        "epsilon",
    )


@bp.route("/dp-table", methods=["POST"])
@route(Permission.EXPORT_RESEARCH)
def dp_table() -> Any:
    return _release(
        "dp_table",
        lambda form: services.DpTableRequest(
            dataset=_dataset(form),
            dimensions=_chosen_dimensions(form),
            epsilon=form.epsilon.data,
            threshold=form.threshold.data,
        ),
        lambda request: services.run_dp_table(request, current_user),
        "dimensions",
    )


@bp.route("/runs/<uuid:export_id>")
@route(Permission.EXPORT_RESEARCH)
def report(export_id: uuid.UUID) -> str:
    run = services.own_run(export_id, current_user)
    if run is None:
        abort(404)
    per_column: list[tuple[str, dict[str, float]]] = []
    if run.report and run.kind == services.KIND_MICRODATA:
        per_column = sorted(run.report.get("per_column", {}).items(), key=lambda item: item[1].get("kept_share", 1))
    return render_template(
        "exports/report.html",
        run=run,
        per_column=per_column,
        dataset=policy.dataset_name(run.organisation_id),
        preview=services.preview(run),
        available=services.preview(run, 0) is not None,
        kind_label=services.kind_label,
        dimension_labels=services.dimension_labels,
        kinds={
            "microdata": services.KIND_MICRODATA,
            "table": services.KIND_TABLE,
            "synthetic": services.KIND_SYNTHETIC,
            "dp_table": services.KIND_DP_TABLE,
        },
        extended_header=columns.EXTENDED_HEADER,
    )


@bp.route("/runs/<uuid:export_id>/download")
@route(Permission.EXPORT_RESEARCH)
def download(export_id: uuid.UUID) -> Response:
    run = services.own_run(export_id, current_user)
    if run is None:
        abort(404)
    kind = {
        services.KIND_MICRODATA: "ctdc",
        services.KIND_SYNTHETIC: "ctdc-synthetic",
        services.KIND_DP_TABLE: "private-table",
    }.get(run.kind, "table")
    name = f"casework-{kind}-{run.started_at:%Y%m%d}-{str(run.id)[:8]}.csv"
    try:
        answer = storage.response(services.download(run, current_user), name)
    except LookupError:
        session.rollback()
        abort(404)
    session.commit()
    return answer


def _policy_values(form: PolicyForm) -> dict[str, Any]:
    return {
        "min_k": form.min_k.data,
        "min_threshold": form.min_threshold.data,
        "max_dimensions": form.max_dimensions.data,
        "allowed_dimensions": form.allowed_dimensions.data or [],
        "protection_width": form.protection_width.data,
        "noise_scale": form.noise_scale.data,
        "rounding_base": int(form.rounding_base.data),
        "epsilon_budget": form.epsilon_budget.data,
    }


@bp.route("/settings", methods=["GET", "POST"])
@route(Permission.EXPORT_CONFIGURE)
def settings() -> Response | tuple[str, int]:
    """The policy of the supervisor's own organisation's dataset (never another's)."""
    organisation_id = current_user.organisation_id
    saved = policy.policy_for(organisation_id)
    form = PolicyForm(
        min_k=saved.min_k,
        min_threshold=saved.min_threshold,
        max_dimensions=saved.max_dimensions,
        allowed_dimensions=list(saved.allowed_dimensions),
        protection_width=saved.protection_width,
        noise_scale=saved.noise_scale,
        rounding_base=str(saved.rounding_base),
        epsilon_budget=saved.epsilon_budget,
        version_id=policy.policy_version(saved),
    )
    if not form.is_submitted():
        return _settings_page(form, saved)
    if not form.validate():
        return _settings_page(form, saved, status=400)
    try:
        policy.update_policy(
            current_user,
            organisation_id,
            version_id=int(form.version_id.data or 0),
            delta_budget=saved.delta_budget,
            **_policy_values(form),
        )
    except policy.PolicyConflict:
        session.rollback()
        saved = policy.policy_for(organisation_id)
        # Keep the user's input; a second save (now on the current version) overrides.
        form.version_id.data = str(policy.policy_version(saved))
        return _settings_page(form, saved, status=409, conflict=True)
    except policy.PolicyRefused as refused:
        session.rollback()
        name = refused.field if refused.field in form else "min_k"
        form[name].errors = [*form[name].errors, str(refused)]
        return _settings_page(form, policy.policy_for(organisation_id), status=400)
    session.commit()
    flash(_("Release policy saved."), "success")
    return redirect(url_for(".settings"))


def _settings_page(form: PolicyForm, saved: Any, status: int = 200, conflict: bool = False) -> tuple[str, int]:
    organisation_id = current_user.organisation_id
    runs = services.recent_runs(None, limit=50, organisation_id=organisation_id)
    return render_template(
        "exports/settings.html",
        form=form,
        saved=saved,
        conflict=conflict,
        runs=runs,
        epsilon_left=policy.remaining_epsilon(saved),
        dataset=policy.dataset_name(organisation_id),
        dimension_labels=services.dimension_labels,
        kind_label=services.kind_label,
        status_label=services.status_label,
        requesters=services.requester_names(runs),
    ), status
