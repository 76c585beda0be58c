"""exports views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from casework.access import Permission, route

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.route("/")
@route(Permission.EXPORT_RESEARCH)
def index() -> str:
    return render_template("scaffold.html", title="Research exports")
