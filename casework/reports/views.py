"""The dashboard: the user's caseload at a glance (supervisor: the organisation's cases;
caseworker: their own), as server-rendered SVG charts, each also given as a table."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from casework import vocab
from casework.access import Permission, route
from casework.reports import charts, queries

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/")
@route(Permission.REPORTS_VIEW)
def dashboard() -> str:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    today = date.today()
    figures = queries.dashboard(user, today)
    months = [(format_date(first, "MMM yyyy"), count) for first, count in figures.new_by_month]
    new_cases_chart = charts.column_chart("new-cases-chart", _("New cases by month"), months)
    statuses = [status.code for status in vocab.SERVICE_STATUSES]
    legend = [(str(status.label), f"seg-{status.code}") for status in vocab.SERVICE_STATUSES]
    counts = figures.services_by_kind_status
    assistance_rows = [
        (
            str(kind.label),
            [(str(vocab.SERVICE_STATUSES.label(s)), counts.get((kind.code, s), 0), f"seg-{s}") for s in statuses],
        )
        for kind in vocab.SERVICE_KINDS
    ]
    assistance_chart = charts.stacked_chart(
        "assistance-chart", _("Assistance by kind and status"), assistance_rows, legend
    )
    return render_template(
        "reports/dashboard.html",
        figures=figures,
        new_cases_chart=new_cases_chart,
        assistance_chart=assistance_chart,
        service_statuses=statuses,
        scope_is_org=user.role == "supervisor",
    )
