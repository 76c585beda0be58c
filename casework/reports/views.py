"""reports views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from casework.access import Permission, route

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/")
@route(Permission.REPORTS_VIEW)
def dashboard() -> str:
    return render_template("scaffold.html", title="Dashboard")
