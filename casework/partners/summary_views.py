"""The redacted case summary: a printable page and a PDF, for a chosen recipient."""

from __future__ import annotations

import uuid

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework import access
from casework.access import Permission, route
from casework.audit import writer as audit
from casework.auth.models import Organisation
from casework.cases.models import Case
from casework.consent.links import case_file_url
from casework.db import session
from casework.partners import summary
from casework.partners.forms import SummaryForm
from casework.partners.models import OPEN_STATUSES, Referral
from casework.partners.views import bp


def _form(case: Case) -> SummaryForm:
    form = SummaryForm(request.args)
    form.recipient.choices = [("", _("Choose…")), *summary.RECIPIENTS.choices()]
    rows = session.execute(
        select(Referral.id, Organisation.name, Referral.service_kind)
        .join(Organisation, Organisation.id == Referral.to_org_id)
        .where(Referral.case_id == case.id, Referral.status.in_(OPEN_STATUSES))
        .order_by(Referral.created_at)
    ).all()
    form.referral_id.choices = [("", _("— none —"))] + [
        (str(rid), f"{name} · {summary.vocab.SERVICE_KINDS.label(kind)}") for rid, name, kind in rows
    ]
    return form


def _build(case_id: uuid.UUID, output: str) -> tuple[Case, SummaryForm, summary.Summary | None, int]:
    """Parse the query, build the summary (audited) or say why not."""
    case = access.load_case(case_id, Permission.SUMMARY_PRINT)
    form = _form(case)
    if not request.args:
        return case, form, None, 200
    if not form.validate():
        return case, form, None, 400
    referral_id = uuid.UUID(form.referral_id.data) if form.referral_id.data else None
    try:
        built = summary.build(case, form.recipient.data or "", referral_id)
    except summary.SummaryRefused as exc:
        target = "referral_id" if form.recipient.data == "partner" else "recipient"
        form[target].errors = [*form[target].errors, str(exc)]
        audit.record_now(
            "summary.print",
            outcome="refused",
            case_id=case.id,
            details={"recipient": form.recipient.data, "format": output},
        )
        return case, form, None, 400
    audit.record(
        "summary.print",
        case_id=case.id,
        target=case,
        details={
            "recipient": built.recipient,
            "format": output,
            "referral_id": str(built.referral_id) if built.referral_id else None,
        },
    )
    session.commit()
    return case, form, built, 200


@bp.route("/cases/<uuid:case_id>/summary")
@route(Permission.SUMMARY_PRINT, case_route=True)
def summary_page(case_id: uuid.UUID) -> tuple[str, int]:
    case, form, built, status = _build(case_id, "page")
    return render_template(
        "partners/summary.html",
        case=access.redact(current_user, case),
        form=form,
        summary=built,
        case_url=case_file_url(case.id),
    ), status


@bp.route("/cases/<uuid:case_id>/summary.pdf")
@route(Permission.SUMMARY_PRINT, case_route=True)
def summary_pdf(case_id: uuid.UUID) -> Response | tuple[str, int]:
    case, form, built, status = _build(case_id, "pdf")
    if built is None:
        page = render_template(
            "partners/summary.html",
            case=access.redact(current_user, case),
            form=form,
            summary=None,
            case_url=case_file_url(case.id),
        )
        return page, status if status != 200 else 400
    # Imported on the first PDF: fpdf2 (with fontTools and numpy) was most of a worker's
    # start-up, and few requests are PDFs (bench/worker_start.py).
    from casework.partners import pdf

    filename = f"summary-{built.reference}-{built.recipient}.pdf"
    return Response(
        pdf.render(built),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
