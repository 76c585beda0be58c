"""The person's data rights on a case: erasure (crypto-shredding) and subject access."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from casework import access, vocab
from casework.access import Permission, route
from casework.admin import retention
from casework.admin import subject_access as sar
from casework.audit import writer as audit
from casework.cases.forms import MAX_PAGE, IntegerFieldWithMessage
from casework.consent.forms import NoControlCharacters, strip_filter, with_placeholder
from casework.consent.links import case_file_url, optional_url
from casework.db import session

bp = Blueprint("privacy", __name__)
ERASURES_PER_PAGE = 50


class EraseForm(FlaskForm):
    reason = TextAreaField(
        _l("Why this case is erased"),
        description=_l(
            "At least 20 characters. This reason stays readable after erasure: "
            "do not write names or any detail that identifies the person."
        ),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=retention.MAX_REASON_CHARS), NoControlCharacters()],
    )
    reason_code = SelectField(
        _l("Reason"),
        description=_l("Kept in your organisation's erasure record, with the reference, who erased it and when."),
        choices=with_placeholder(
            [(c.code, c.label) for c in vocab.ERASURE_REASONS if c.code != "retention"]  # retention: the rule's own
        ),
        validators=[DataRequired()],
    )
    confirm_reference = StringField(
        _l("Type the case reference to confirm"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=40)],
    )
    version_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


@bp.route("/cases/<uuid:case_id>/erase", methods=["GET", "POST"])
@route(Permission.CASE_ERASE, case_route=True)
def erase(case_id: uuid.UUID) -> str | Response | tuple[str, int]:
    grant = access.load_case(case_id, Permission.CASE_ERASE)
    case, rcase = grant.case, grant.view
    form = EraseForm(version_id=case.version_id)
    context = {"form": form, "case": rcase, "case_url": case_file_url(case.id), "conflict": False}
    if not form.validate_on_submit():
        return render_template("privacy/erase.html", **context), 400 if form.is_submitted() else 200
    if form.confirm_reference.data != case.reference:
        form.confirm_reference.errors = [_("This is not the reference of this case.")]
        return render_template("privacy/erase.html", **context), 400
    if form.version_id.data != case.version_id:
        form.version_id.data = case.version_id  # the user has now seen the change
        return render_template("privacy/erase.html", **{**context, "conflict": True}), 409
    try:
        result = retention.erase_case(
            case, form.reason.data or "", current_user, reason_code=form.reason_code.data or ""
        )
        session.commit()
    except retention.ErasureError as exc:
        session.rollback()
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [message]
            else:
                flash(message, "error")
        return render_template("privacy/erase.html", **context), 400
    except StaleDataError:
        session.rollback()
        return render_template("privacy/erase.html", **{**context, "conflict": True}), 409
    retention.wipe()
    flash(
        _("Case %(reference)s was erased. Its identifying data can no longer be read.", reference=result.reference),
        "success",
    )
    if result.referrals_revoked:
        flash(_("%(n)d open referral(s) were revoked.", n=result.referrals_revoked), "info")
    return redirect(optional_url("cases.index") or optional_url("core.home") or "/")


class ErasureRecordForm(FlaskForm):
    """Paging of the erasure record."""

    class Meta:
        csrf = False

    page = IntegerFieldWithMessage(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=MAX_PAGE, message=_l("Enter a page number from 1."))],
    )


@bp.route("/erasures/")
@route(Permission.ERASURE_RECORD)
def erasures() -> tuple[str, int]:
    """The organisation's erased cases: a trail to each case without anything of the person."""
    form = ErasureRecordForm(formdata=request.args or None)
    if not form.validate():
        return render_template("privacy/erasures.html", form=form, records=None), 400
    page = form.page.data or 1
    records, total = retention.erasure_records(current_user.organisation_id, page, ERASURES_PER_PAGE)
    pages = max(1, -(-total // ERASURES_PER_PAGE))
    context = {"form": form, "records": records, "total": total, "page": min(page, pages), "pages": pages}
    return render_template("privacy/erasures.html", **context), 200


@bp.route("/cases/<uuid:case_id>/subject-access")
@route(Permission.SUMMARY_PRINT, case_route=True)
def subject_access(case_id: uuid.UUID) -> Response:
    """Everything held about the person, decrypted, as JSON: for their caseworker to hand over.
    Only the owner organisation's staff (``access.RELATION_PERMISSIONS``: SUMMARY_PRINT belongs
    to the owner's relations, never a partner's or a break-glass visitor's)."""
    case = access.load_case(case_id, Permission.SUMMARY_PRINT).case
    body = sar.to_json(sar.collect(case))
    audit.record("case.subject_access", target=case, case_id=case.id, details={"format": "json", "bytes": len(body)})
    session.commit()
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="subject-access-{case.reference}.json"'},
    )


@bp.route("/cases/<uuid:case_id>/subject-access.zip")
@route(Permission.SUMMARY_PRINT, case_route=True)
def subject_access_archive(case_id: uuid.UUID) -> Response:
    """The same record with the person's documents, decrypted, in a ZIP streamed as it is
    written (casework.documents.bundle). The same readers as :func:`subject_access`."""
    from casework.documents import bundle
    from casework.documents.store import store_for

    case = access.load_case(case_id, Permission.SUMMARY_PRINT).case
    key = case.data_key()
    if key is None:  # unreachable: an erased case is outside every scope
        abort(404)
    record = sar.to_json(sar.collect(case))
    items = bundle.entries(case)
    audit.record(
        "case.subject_access", target=case, case_id=case.id, details={"format": "zip", "documents": len(items)}
    )
    session.commit()
    answer = Response(bundle.stream(record, items, key, store_for()), mimetype="application/zip")
    answer.headers["Content-Disposition"] = f'attachment; filename="subject-access-{case.reference}.zip"'
    return answer
