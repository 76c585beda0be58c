"""Assessment pages: record a (re)assessment with one of the instruments, read one version.

The history (every version with its scores) is on the case file's "assessments" tab
(``assessments/_case_section.html``, data from :func:`section_data`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, RedactedCase, route
from casework.assessments import services
from casework.assessments.forms import assessment_form, item_field_name
from casework.assessments.instruments import INSTRUMENTS
from casework.assessments.models import Assessment
from casework.auth.models import display_names
from casework.cases.tabs import tab_url
from casework.cases.validation import InputErrors, apply_errors
from casework.db import session

bp = Blueprint("assessments", __name__)
Page = str | Response | tuple[str, int]


@dataclass(frozen=True)
class AssessmentSection:
    history: list[Assessment]
    names: dict[uuid.UUID, str]

    def name(self, user_id: uuid.UUID | None) -> str:
        return self.names.get(user_id, "") if user_id else ""

    def of_kind(self, kind: str) -> list[Assessment]:
        return [a for a in self.history if a.kind == kind]


def section_data(case: RedactedCase) -> AssessmentSection | None:
    """The assessments tab (None when the grant does not show assessments)."""
    if not case.can_see("assessments"):
        return None
    history = services.history(case.id)
    return AssessmentSection(history, display_names({a.assessed_by_id for a in history}))


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"assessment_section": section_data, "instruments": INSTRUMENTS}


@bp.route("/cases/<uuid:case_id>/assessments/new", methods=["GET", "POST"])
@route(Permission.CASE_EDIT, case_route=True)
def record(case_id: uuid.UUID) -> Page:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    kind = request.args.get("kind", "")
    instrument = INSTRUMENTS.get(kind)
    if instrument is None:
        # Which instrument? (A page of links; a POST without one is a bad request.)
        status = 400 if request.method == "POST" else 200
        return render_template("assessments/choose.html", case=grant.view), status
    form = assessment_form(instrument)
    context = {"form": form, "case": grant.view, "instrument": instrument, "item_field": item_field_name}
    if not form.is_submitted():
        return render_template("assessments/form.html", **context), 200
    if not form.validate():
        return render_template("assessments/form.html", **context), 400
    data = services.AssessmentInput(
        kind=kind,
        assessed_on=form.assessed_on.data,
        answers={item.code: form[item_field_name(item.code)].data or "" for item in instrument.items},
        outcome=form.outcome.data if "outcome" in form else None,
        notes=form.notes.data or None,
        safety_plan=form.safety_plan.data if "safety_plan" in form else None,
    )
    try:
        assessment = services.record_assessment(grant, data)
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return render_template("assessments/form.html", **context), 400
    session.commit()
    flash(_("The assessment was recorded (version %(version)d).", version=assessment.version), "success")
    return redirect(tab_url(grant.case_id, "assessments"))


@bp.route("/assessments/<uuid:assessment_id>")
@route(Permission.CASE_FILE)
def view(assessment_id: uuid.UUID) -> Page:
    case_id = session.execute(select(Assessment.case_id).where(Assessment.id == assessment_id)).scalar_one_or_none()
    if case_id is None:
        access.refuse("assessment.load", status=404, reason="not_found")
    grant = access.load_case(case_id, Permission.CASE_FILE)
    if not grant.view.can_see("assessments"):
        access.refuse("assessment.load", case_id=case_id, status=403, reason="not_shared")
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        access.refuse("assessment.load", case_id=case_id, status=404, reason="not_found")
    names = display_names({assessment.assessed_by_id})
    return render_template(
        "assessments/view.html",
        case=grant.view,
        assessment=assessment,
        instrument=INSTRUMENTS[assessment.kind],
        notes=grant.free_text(assessment.notes),
        safety_plan=grant.free_text(assessment.safety_plan),
        assessor=names.get(assessment.assessed_by_id, "") if assessment.assessed_by_id else "",
    ), 200
