"""``/notifications/``: an organisation's notices, for its supervisors."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from casework.access import Permission, route
from casework.audit.forms import EndBreakGlassForm
from casework.notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@route(Permission.NOTIFICATIONS_VIEW)
def index() -> str:
    rows = services.notices_for(current_user.organisation_id)
    return render_template("notifications/index.html", rows=rows, end_form=EndBreakGlassForm())
