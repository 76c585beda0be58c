"""Referrals (both sides), the partner portal and the partner's case page.

The case file (cases.view) includes ``partners/_case_section.html``; the context processor
below gives it :func:`casework.partners.presenters.section_data`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, Role, route
from casework.auth.models import organisation_names
from casework.cases.models import Case
from casework.consent import services as consent_services
from casework.consent.links import case_file_url, optional_url
from casework.db import session
from casework.partners import presenters, services, summary
from casework.partners.forms import (
    CompleteForm,
    EmergencyReferralForm,
    NoteForm,
    PortalFilterForm,
    ReferralForm,
    RespondForm,
    RevokeForm,
    ServicesPageForm,
)
from casework.partners.models import Referral

bp = Blueprint("partners", __name__)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"partner_section": presenters.section_data}


def _is_partner() -> bool:
    return access.role_of(current_user) is Role.PARTNER


def _attach_errors(form: Any, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        if name and name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


# -- the portal -----------------------------------------------------------------------------------
def _query_args(form: Any) -> dict[str, str]:
    """The filters in use, to carry over to the other pages' links."""
    return {k: v for k, v in request.args.items(multi=False) if k in form and k != "page" and v}


@bp.route("/partners/portal")
@route(Permission.REFERRAL_RESPOND)
def portal() -> tuple[str, int]:
    form = PortalFilterForm(formdata=request.args or None)
    if not form.validate():
        return render_template("partners/portal.html", form=form, page=None, query_args={}), 400
    filters = presenters.PortalFilters(
        status=form.status.data or None,
        sent_from=form.sent_from.data,
        sent_to=form.sent_to.data,
        q=form.q.data or None,
        page=form.page.data or 1,
    )
    page = presenters.portal_page(current_user, filters)
    return render_template("partners/portal.html", form=form, page=page, query_args=_query_args(form)), 200


@bp.route("/partners/services")
@route(Permission.REFERRAL_RESPOND)
def services_list() -> tuple[str, int]:
    """The services the partner's organisation recorded, on the cases it may still see."""
    form = ServicesPageForm(formdata=request.args or None)
    if not form.validate():
        return render_template("partners/services.html", form=form, page=None), 400
    page = presenters.own_services(current_user, form.page.data or 1)
    return render_template("partners/services.html", form=form, page=page), 200


# -- creating referrals ---------------------------------------------------------------------------
def _target_choices(case: Case) -> list[tuple[str, str]]:
    states = consent_services.current_consents(case.id)
    choices = [("", _("Choose…"))]
    for org in consent_services.partner_organisations(exclude=case.owner_org_id):
        state = states.get(("referral_sharing", org.id))
        note = _("consent in force") if state is not None and state.active else _("no consent in force")
        choices.append((str(org.id), f"{org.name} ({note})"))
    return choices


def _referral_input(form: ReferralForm) -> services.ReferralInput:
    try:
        to_org_id = uuid.UUID(form.to_org_id.data) if form.to_org_id.data else None
    except ValueError:
        to_org_id = None
    return services.ReferralInput(
        to_org_id=to_org_id,
        service_kind=form.service_kind.data or "",
        field_scope=frozenset(form.field_scope.data or ()),
        message=form.message.data or None,
        confirm_sensitive=bool(form.confirm_sensitive.data),
    )


@bp.route("/cases/<uuid:case_id>/referrals/new", methods=["GET", "POST"])
@route(Permission.REFERRAL_CREATE, case_route=True)
def create(case_id: uuid.UUID) -> str | Response | tuple[str, int]:
    grant = access.load_case(case_id, Permission.REFERRAL_CREATE)
    form = ReferralForm()
    form.to_org_id.choices = _target_choices(grant.case)
    context = {"form": form, "case": grant.view, "emergency": False}
    if form.validate_on_submit():
        try:
            referral = services.create_referral(grant, _referral_input(form))
        except services.ReferralError as exc:
            session.rollback()
            _attach_errors(form, exc.errors)
            return render_template("partners/create.html", **context), 400
        session.commit()
        flash(_("The referral was sent. The partner sees the shared fields once it accepts."), "success")
        return redirect(url_for("partners.referral", referral_id=referral.id))
    return render_template("partners/create.html", **context), 400 if form.is_submitted() else 200


@bp.route("/cases/<uuid:case_id>/referrals/emergency", methods=["GET", "POST"])
@route(Permission.CONSENT_OVERRIDE, case_route=True)
def emergency(case_id: uuid.UUID) -> str | Response | tuple[str, int]:
    grant = access.load_case(case_id, Permission.CONSENT_OVERRIDE)
    form = EmergencyReferralForm()
    form.to_org_id.choices = _target_choices(grant.case)
    context = {"form": form, "case": grant.view, "emergency": True}
    if form.validate_on_submit():
        try:
            referral = services.create_emergency_referral(
                grant,
                _referral_input(form),
                form.reason.data or "",
                form.expires_on.data,
                bool(form.confirm.data),
            )
        except services.ReferralError as exc:
            session.rollback()
            _attach_errors(form, exc.errors)
            return render_template("partners/create.html", **context), 400
        session.commit()
        flash(
            _(
                "The emergency referral was sent. It rests on your override, not on consent: "
                "record the person's decision as soon as they can give it."
            ),
            "warning",
        )
        return redirect(url_for("partners.referral", referral_id=referral.id))
    return render_template("partners/create.html", **context), 400 if form.is_submitted() else 200


# -- one referral, both sides ---------------------------------------------------------------------
def _referral_page(referral: Referral, status: int = 200, **forms: Any) -> tuple[str, int]:
    partner = _is_partner()
    names = organisation_names({referral.from_org_id, referral.to_org_id})
    live = partner and services.partner_has_access(referral, current_user)
    message = None
    grant = None
    if not partner or live:
        # The reader's grant on the case renders the message (masked for a partner); a
        # partner whose referral is not live sees no message at all...
        grant = access.grant_for(current_user, session.get(Case, referral.case_id))  # type: ignore[arg-type]
        message = grant.free_text(referral.message)
    elif referral.to_org_id == current_user.organisation_id:
        # ... except what it is asked, before it answers: the person masked whole.
        message = services.message_before_answer(referral)
    case_reference = None
    if not partner or live:
        case_reference = session.execute(select(Case.reference).where(Case.id == referral.case_id)).scalar_one()
    context = {
        "referral": referral,
        "partner": partner,
        "live": live,
        "case_reference": case_reference,
        "case_url": None if partner else case_file_url(referral.case_id, "referrals"),
        "message": message,
        "timeline": presenters.timeline(referral, names, staff_view=not partner),
        "org_names": names,
        "respond_form": forms.get("respond_form") or RespondForm(formdata=None, version_id=referral.version_id),
        "complete_form": forms.get("complete_form") or CompleteForm(formdata=None, version_id=referral.version_id),
        "revoke_form": forms.get("revoke_form") or RevokeForm(formdata=None, version_id=referral.version_id),
        "conflict": forms.get("conflict", False),
        "may_respond": partner and access.has_permission(current_user, Permission.REFERRAL_RESPOND),
        "may_revoke": grant is not None and grant.allows(Permission.REFERRAL_CREATE),
    }
    return render_template("partners/referral.html", **context), status


@bp.route("/partners/referrals/<uuid:referral_id>")
@route()
def referral(referral_id: uuid.UUID) -> tuple[str, int]:
    return _referral_page(services.load_referral(referral_id))


def _conflict(referral_id: uuid.UUID, **forms: Any) -> tuple[str, int]:
    session.rollback()
    current = services.load_referral(referral_id)
    session.refresh(current)
    return _referral_page(current, 409, conflict=True, **forms)


@bp.route("/partners/referrals/<uuid:referral_id>/respond", methods=["POST"])
@route(Permission.REFERRAL_RESPOND)
def respond(referral_id: uuid.UUID) -> Response | tuple[str, int]:
    referral = services.load_referral(referral_id)
    form = RespondForm()
    if not form.validate_on_submit():
        return _referral_page(referral, 400, respond_form=form)
    try:
        services.respond(referral, form.decision.data == "accept", form.reason.data, form.version_id.data, current_user)
        session.commit()
    except services.ReferralError as exc:
        session.rollback()
        _attach_errors(form, exc.errors)
        return _referral_page(services.load_referral(referral_id), 400, respond_form=form)
    except (services.ReferralConflict, StaleDataError):
        return _conflict(referral_id, respond_form=form)
    flash(_("Your answer was recorded."), "success")
    return redirect(url_for("partners.referral", referral_id=referral_id))


@bp.route("/partners/referrals/<uuid:referral_id>/complete", methods=["POST"])
@route(Permission.REFERRAL_RESPOND)
def complete(referral_id: uuid.UUID) -> Response | tuple[str, int]:
    referral = services.load_referral(referral_id)
    form = CompleteForm()
    if not form.validate_on_submit():
        return _referral_page(referral, 400, complete_form=form)
    try:
        services.complete(referral, form.version_id.data, current_user)
        session.commit()
    except (services.ReferralConflict, StaleDataError):
        return _conflict(referral_id, complete_form=form)
    flash(_("The referral is completed."), "success")
    return redirect(url_for("partners.referral", referral_id=referral_id))


@bp.route("/partners/referrals/<uuid:referral_id>/revoke", methods=["POST"])
@route(Permission.REFERRAL_CREATE)
def revoke(referral_id: uuid.UUID) -> Response | tuple[str, int]:
    referral = services.load_referral(referral_id)
    grant = access.load_case(referral.case_id, Permission.REFERRAL_CREATE)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _referral_page(referral, 400, revoke_form=form)
    try:
        services.revoke(referral, form.reason.data, form.version_id.data, grant.user)
        session.commit()
    except services.ReferralError as exc:
        session.rollback()
        _attach_errors(form, exc.errors)
        return _referral_page(services.load_referral(referral_id), 400, revoke_form=form)
    except (services.ReferralConflict, StaleDataError):
        return _conflict(referral_id, revoke_form=form)
    flash(_("The referral was revoked: the partner no longer sees the case."), "success")
    return redirect(url_for("partners.referral", referral_id=referral_id))


# -- the partner's case page ----------------------------------------------------------------------
def _partner_case_page(grant: access.CaseGrant, note_form: NoteForm, status: int = 200) -> tuple[str, int]:
    """The partner's own page of a case (never the owner's case file): the referral's field
    scope, its messages, notes and needs, every free text through ``grant.free_text``."""
    case, rcase = grant.case, grant.view
    referrals = list(
        session.execute(
            select(Referral).where(
                Referral.case_id == case.id, access.partner_referral_condition(grant.user, date.today())
            )
        ).scalars()
    )
    messages = [(r, grant.free_text(r.message) if r.message else None) for r in referrals]
    sections = []
    if rcase.can_see("needs"):
        sections.append(summary.needs_section(case, referrals[0] if referrals else None))
    if rcase.can_see("profile"):
        profile = summary.profile_section(case, with_narrative=False, rules=None)
        if profile is not None:
            sections.append(profile)
    from casework.plans.shared import partner_sections  # the plan, assessments: only if the scope shares them

    sections.extend(partner_sections(grant))
    assistance_links = [
        (r.service_kind, optional_url("assistance.create", case_id=case.id, kind=r.service_kind))
        for r in referrals
        if grant.allows(Permission.SERVICE_RECORD)
    ]
    context = {
        "case": rcase,
        "person": summary.person_section(case, rcase.fields),
        "sections": sections,
        "messages": messages,
        "notes": presenters.partner_notes(grant),
        "note_form": note_form,
        "may_add_note": grant.allows(Permission.PARTNER_NOTE_ADD),
        "assistance_links": assistance_links,
        "own_services": presenters.own_services(grant.user, case_id=case.id).rows,
    }
    return render_template("partners/case.html", **context), status


@bp.route("/partners/cases/<uuid:case_id>")
@route(Permission.REFERRAL_RESPOND, case_route=True)
def case(case_id: uuid.UUID) -> tuple[str, int]:
    grant = access.load_case(case_id, Permission.REFERRAL_RESPOND)
    return _partner_case_page(grant, NoteForm(formdata=None))


@bp.route("/partners/cases/<uuid:case_id>/notes", methods=["POST"])
@route(Permission.PARTNER_NOTE_ADD, case_route=True)
def add_note(case_id: uuid.UUID) -> Response | tuple[str, int]:
    grant = access.load_case(case_id, Permission.PARTNER_NOTE_ADD)
    form = NoteForm()
    if not form.validate_on_submit():
        return _partner_case_page(grant, form, 400)
    services.add_partner_note(grant, form.body.data or "")
    session.commit()
    flash(_("Your note was saved; the referring organisation can read it."), "success")
    return redirect(url_for("partners.case", case_id=case_id))


from casework.partners import summary_views  # noqa: E402,F401  (registers the summary routes on bp)
