"""cases views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from casework.access import Permission, route

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.route("/")
@route(Permission.CASE_READ)
def index() -> str:
    return render_template("scaffold.html", title="Cases")


@bp.route("/new")
@route(Permission.CASE_CREATE)
def register() -> str:
    return render_template("scaffold.html", title="Register a case")
