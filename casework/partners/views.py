"""partners views (scaffold: being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from casework.access import Permission, route

bp = Blueprint("partners", __name__, url_prefix="/partners")


@bp.route("/portal")
@route(Permission.REFERRAL_RESPOND)
def portal() -> str:
    return render_template("scaffold.html", title="Referrals")
