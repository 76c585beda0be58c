"""Consent pages: the case's consents (current state and history), record, withdraw.

The case file (cases.view) includes ``consent/_case_section.html``; :func:`section_data`
gives it what it shows, in a fixed number of queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template
from flask_babel import gettext as _
from sqlalchemy import exists, select
from werkzeug.wrappers import Response

from casework import access, vocab
from casework.access import Permission, RedactedCase, route
from casework.auth.models import Organisation, display_name_of, display_names, organisation_names
from casework.cases.models import Case
from casework.consent import overrides, services
from casework.consent.forms import ConsentForm, WithdrawConsentForm
from casework.consent.links import case_file_url, optional_url
from casework.consent.models import Consent, ConsentOverride
from casework.db import session

bp = Blueprint("consent", __name__)


@dataclass(slots=True)
class ConsentSection:
    """What the case file shows about consent; names looked up once, not per row."""

    case_id: uuid.UUID
    today: date
    states: list[services.ConsentState]
    history: list[Consent]
    overrides: list[ConsentOverride]
    org_names: dict[uuid.UUID, str] = field(default_factory=dict)
    user_names: dict[uuid.UUID, str] = field(default_factory=dict)

    def org(self, org_id: uuid.UUID | None) -> str:
        return self.org_names.get(org_id, "") if org_id else ""

    def user(self, user_id: uuid.UUID | None) -> str:
        return self.user_names.get(user_id, "") if user_id else ""


def section_data(case: RedactedCase | Case, on: date | None = None) -> ConsentSection | None:
    """The consent section of a case the user already reached; None when the user may not
    see consents (``access.visible_fields``: owner staff only)."""
    if isinstance(case, RedactedCase) and not case.can_see("consents"):
        return None
    on = on or date.today()
    session.get(Case, case.id)  # the case holds the data key (usually already in the session)
    # The records with the names they show, in one query (the case file runs this on every view).
    # Whether the case has emergency overrides rides along, so the (rare) overrides are only
    # queried when there are any, or when there are no consent records to carry the flag.
    has_overrides = exists().where(ConsentOverride.case_id == case.id)
    rows = session.execute(
        services.consent_records(case.id)
        .add_columns(
            Organisation.name,
            # Names as correlated subqueries: joins would need aliased users tables, and a
            # worker's threads once shared such an alias into broken SQL (see
            # tests/test_shared_sql_constructs.py).
            display_name_of(Consent.recorded_by_id),
            display_name_of(Consent.withdrawal_recorded_by_id),
            has_overrides,
        )
        .outerjoin(Organisation, Organisation.id == Consent.organisation_id)
    ).all()
    history = [consent for consent, *_names in rows]
    org_names: dict[uuid.UUID, str] = {}
    user_names: dict[uuid.UUID, str] = {}
    for consent, org_name, recorder_name, withdrawer_name, _has_overrides in rows:
        for names, key, name in (
            (org_names, consent.organisation_id, org_name),
            (user_names, consent.recorded_by_id, recorder_name),
            (user_names, consent.withdrawal_recorded_by_id, withdrawer_name),
        ):
            if key is not None and name is not None:
                names[key] = name
    override_rows = overrides.overrides_of(case.id) if not rows or rows[0][-1] else []
    states = sorted(
        services.current_consents(case.id, on, history).values(),
        key=lambda s: (
            vocab.CONSENT_PURPOSES.index(s.purpose) if s.purpose in vocab.CONSENT_PURPOSES else 99,
            str(s.organisation_id),
        ),
    )
    # Emergency overrides are rare: their names are looked up only when there are any.
    missing_orgs = {o.organisation_id for o in override_rows}.difference(org_names)
    missing_users = {o.created_by_id for o in override_rows if o.created_by_id}.difference(user_names)
    org_names.update(organisation_names(missing_orgs))
    user_names.update(display_names(missing_users))
    return ConsentSection(
        case.id, on, states, list(reversed(history)), list(reversed(override_rows)), org_names, user_names
    )


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"consent_section": section_data}


@bp.route("/cases/<uuid:case_id>/consents")
@route(Permission.CONSENT_RECORD, case_route=True)
def index(case_id: uuid.UUID) -> str:
    grant = access.load_case(case_id, Permission.CONSENT_RECORD)
    return render_template(
        "consent/index.html", case=grant.view, case_url=optional_url("cases.view", case_id=grant.case_id)
    )


def _organisation_choices(case: Case) -> list[tuple[str, str]]:
    orgs = services.partner_organisations(exclude=case.owner_org_id)
    return [("", _("— none —"))] + [(str(org.id), org.name) for org in orgs]


def _to_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@bp.route("/cases/<uuid:case_id>/consents/new", methods=["GET", "POST"])
@route(Permission.CONSENT_RECORD, case_route=True)
def record(case_id: uuid.UUID) -> str | Response | tuple[str, int]:
    grant = access.load_case(case_id, Permission.CONSENT_RECORD)
    case, rcase = grant.case, grant.view
    form = ConsentForm()
    form.organisation_id.choices = _organisation_choices(case)
    if form.validate_on_submit():
        data = services.ConsentInput(
            purpose=form.purpose.data or "",
            organisation_id=_to_uuid(form.organisation_id.data),
            decision=form.decision.data or "",
            method=form.method.data or "",
            given_by=form.given_by.data or "",
            giver_name=form.giver_name.data or None,
            given_on=form.given_on.data,  # type: ignore[arg-type]
            expires_on=form.expires_on.data,
            notes=form.notes.data or None,
        )
        try:
            services.record_consent(grant, data)
        except services.ConsentError as exc:
            session.rollback()
            _attach_errors(form, exc.errors)
            return render_template("consent/record.html", form=form, case=rcase), 400
        session.commit()
        flash(_("The consent decision was recorded."), "success")
        return redirect(case_file_url(case.id, "consents"))
    status = 400 if form.is_submitted() else 200
    return render_template("consent/record.html", form=form, case=rcase), status


def _attach_errors(form: Any, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        if name and name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


def _load_consent(consent_id: uuid.UUID, permission: Permission) -> tuple[access.CaseGrant, Consent]:
    case_id = session.execute(select(Consent.case_id).where(Consent.id == consent_id)).scalar_one_or_none()
    if case_id is None:
        access.refuse("consent.load", status=404, reason="not_found")
    grant = access.load_case(case_id, permission)
    consent = session.get(Consent, consent_id)
    if consent is None:  # deleted with its case meanwhile
        access.refuse("consent.load", status=404, reason="not_found")
    return grant, consent


@bp.route("/consents/<uuid:consent_id>/withdraw", methods=["GET", "POST"])
@route(Permission.CONSENT_RECORD)
def withdraw(consent_id: uuid.UUID) -> str | Response | tuple[str, int]:
    grant, consent = _load_consent(consent_id, Permission.CONSENT_RECORD)
    case, rcase = grant.case, grant.view
    form = WithdrawConsentForm()
    # What the withdrawal revokes at once, said before it is confirmed.
    to_revoke = services.referrals_a_withdrawal_revokes(consent)
    context = {
        "form": form,
        "case": rcase,
        "consent": consent,
        "to_revoke": to_revoke,
        "org_names": organisation_names({r.to_org_id for r in to_revoke}),
    }
    shown = ",".join(sorted(str(r.id) for r in to_revoke))
    if form.validate_on_submit() and to_revoke and not form.confirm_revocations.data:
        form.confirm_revocations.errors = [_("Confirm that these referrals are revoked with the withdrawal.")]
        form.shown_revocations.data = shown
        return render_template("consent/withdraw.html", **context), 400
    if form.validate_on_submit() and to_revoke and form.shown_revocations.data != shown:
        # Referrals came or went since the page was shown: what was confirmed is not what would go.
        form.confirm_revocations.data = False
        form.confirm_revocations.errors = [
            _(
                "The referrals resting on this consent changed while you were on this page: "
                "check them and confirm again."
            )
        ]
        form.shown_revocations.data = shown
        return render_template("consent/withdraw.html", **context), 409
    if form.validate_on_submit():
        try:
            revoked = services.withdraw_consent(grant, consent, form.withdrawn_on.data)  # type: ignore[arg-type]
        except services.ConsentError as exc:
            session.rollback()
            _attach_errors(form, exc.errors)
            return render_template("consent/withdraw.html", **context), 400
        except services.ConsentConflict:
            session.rollback()
            session.refresh(consent)
            return render_template("consent/withdraw.html", conflict=True, **context), 409
        session.commit()
        flash(_("The withdrawal was recorded."), "success")
        if revoked:
            flash(_("%(n)d referral(s) resting on this consent were revoked.", n=revoked), "warning")
        return redirect(case_file_url(case.id, "consents"))
    status = 400 if form.is_submitted() else 200
    form.shown_revocations.data = shown
    if consent.withdrawn_on is not None or consent.decision != "granted":
        status = 409 if form.is_submitted() else 200
        return render_template("consent/withdraw.html", conflict=True, **context), status
    return render_template("consent/withdraw.html", **context), status
