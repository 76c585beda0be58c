"""admin views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from casework.access import Permission, route

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@route(Permission.ADMIN_USERS)
def index() -> str:
    return render_template("scaffold.html", title="Administration")
