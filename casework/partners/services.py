"""Referral rules: create (resting on consent, or on an emergency override), respond,
complete, revoke. Every transition is audited and checked against the version the user saw."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework import access, vocab
from casework.audit import writer as audit
from casework.cases.models import Case, CaseNote
from casework.consent import overrides
from casework.consent import services as consent_services
from casework.consent.forms import has_control_characters
from casework.consent.models import Consent
from casework.db import session, utcnow
from casework.partners import masking
from casework.partners.models import OPEN_STATUSES, Referral

# Never more than needed: what most referrals need to start helping someone.
DEFAULT_SCOPE = ("given_name", "age", "languages", "needs")
# Fields that can locate or expose the person: chosen only with an explicit confirmation.
SENSITIVE_SCOPE = frozenset(
    {"identity_document", "address", "contact_phone", "contact_email", "documents_identity", "documents_travel"}
)
MAX_TEXT = 2000
REVOKE_CAUSES = (
    "referring_org",
    "consent_withdrawn",
    "consent_refused",
    "case_erased",
)


class ReferralError(ValueError):
    """A referral change was refused. ``errors`` maps form fields ("" = the form) to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("referral refused: " + ", ".join(sorted(errors)))
        self.errors = errors


class ReferralConflict(Exception):
    """The referral changed since the user saw it (another status or version): a 409."""

    def __init__(self, referral: Referral) -> None:
        super().__init__("referral changed meanwhile")
        self.referral = referral


@dataclass(frozen=True, slots=True)
class ReferralInput:
    to_org_id: uuid.UUID | None
    service_kind: str
    field_scope: frozenset[str]
    message: str | None
    confirm_sensitive: bool


# -- loading ------------------------------------------------------------------------------------
def load_referral(referral_id: uuid.UUID, user: Any = None) -> Referral:
    """A referral the user may see (``access.referral_scope``), or a 404 audited as a refusal."""
    user = user if user is not None else current_user
    referral = session.execute(
        select(Referral).where(Referral.id == referral_id, access.referral_scope(user))
    ).scalar_one_or_none()
    if referral is None:
        access.refuse("referral.load", status=404, reason="out_of_scope")
    return referral


def partner_has_access(referral: Referral, user: Any, on: date | None = None) -> bool:
    """Does the partner see the case through this referral now (accepted, basis in force)?"""
    on = on or date.today()
    return (
        session.execute(
            select(Referral.id).where(Referral.id == referral.id, access.partner_referral_condition(user, on))
        ).first()
        is not None
    )


def basis_in_force(referral: Referral, on: date | None = None) -> bool:
    """Does the referral's basis (consent, or an override) still hold, whatever its status?"""
    on = on or date.today()
    if referral.consent_id is not None:
        current = consent_services.active_consent(referral.case_id, "referral_sharing", referral.to_org_id, on)
        consent = referral.consent
        return current is not None and consent is not None and consent.withdrawn_on is None
    override = referral.override
    return override is not None and override.is_active(on)


def message_before_answer(referral: Referral, on: date | None = None) -> str | None:
    """The referrer's message as the organisation it is addressed to reads it before answering:
    while the referral is pending and its basis (consent or override) holds, with every
    identifier of the person masked (nothing of the case is shared before acceptance: names,
    aliases, phone numbers, e-mail addresses and document numbers). None otherwise, and for an
    erased case. Raises nothing."""
    if referral.status != "pending" or not referral.message_ct or not basis_in_force(referral, on):
        return None
    case = session.get(Case, referral.case_id)
    if case is None or case.erased_at is not None:
        return None
    return masking.mask_text(str(referral.message), masking.rules_for(case, frozenset()))


# -- creating -----------------------------------------------------------------------------------
def _validate(case: Case, data: ReferralInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    targets = {org.id for org in consent_services.partner_organisations(exclude=case.owner_org_id)}
    if data.to_org_id is None or data.to_org_id not in targets:
        errors["to_org_id"] = _("Choose an active partner organisation from the list.")
    if data.service_kind not in vocab.SERVICE_KINDS:
        errors["service_kind"] = _("Choose a kind of assistance from the list.")
    unknown = [code for code in data.field_scope if code not in vocab.REFERRAL_SCOPE_FIELDS]
    if not data.field_scope or unknown:
        errors["field_scope"] = _("Choose at least one field to share, from the list.")
    elif data.field_scope & SENSITIVE_SCOPE and not data.confirm_sensitive:
        errors["field_scope"] = _(
            "You chose identity documents, an address or contact details: these can locate or expose the person. "
            "Share them only if the partner needs them, and confirm below."
        )
    if data.message and (len(data.message) > MAX_TEXT or has_control_characters(data.message, multiline=True)):
        errors["message"] = _("Keep the message under %(n)d characters of plain text.", n=MAX_TEXT)
    if not errors and data.to_org_id is not None:
        duplicate = session.execute(
            select(Referral.id).where(
                Referral.case_id == case.id,
                Referral.to_org_id == data.to_org_id,
                Referral.service_kind == data.service_kind,
                Referral.status.in_(OPEN_STATUSES),
            )
        ).first()
        if duplicate is not None:
            errors["to_org_id"] = _("An open referral to this organisation for this assistance already exists.")
    return errors


def create_referral(grant: access.CaseGrant, data: ReferralInput) -> Referral:
    """Refer the case of ``grant`` (which must allow REFERRAL_CREATE: the owner organisation's
    staff only, never a break-glass visitor or a partner; a 403 otherwise). Raises
    ReferralError, in particular when the person's consent to share with that organisation is
    not in force (none, refused, withdrawn or expired)."""
    grant.require(access.Permission.REFERRAL_CREATE)
    case, actor = grant.case, grant.user
    errors = _validate(case, data)
    to_org_id = data.to_org_id
    consent = None
    if not errors and to_org_id is not None:
        consent = consent_services.active_consent(case.id, "referral_sharing", to_org_id)
        if consent is None:
            errors["to_org_id"] = _(
                "There is no consent in force to share with this organisation. Record the person's consent first."
            )
    if errors or to_org_id is None or consent is None:
        raise ReferralError(errors or {"to_org_id": _("Choose an active partner organisation from the list.")})
    return _create(case, data, to_org_id, actor, consent=consent)


def create_emergency_referral(
    grant: access.CaseGrant, data: ReferralInput, reason: str, expires_on: date | None, confirmed: bool
) -> Referral:
    """Refer without consent on a supervisor's written override (``casework.consent.overrides``
    says exactly what it allows); ``grant`` must allow CONSENT_OVERRIDE (the owner
    organisation's supervisors only). Raises ReferralError."""
    grant.require(access.Permission.CONSENT_OVERRIDE)
    case, actor = grant.case, grant.user
    errors = _validate(case, data)
    errors.update(overrides.validate(case, data.to_org_id, reason, expires_on, actor=actor))
    if not confirmed:
        errors["confirm"] = _("Confirm that the person cannot be asked now and that their life or safety is at risk.")
    if errors or data.to_org_id is None or expires_on is None:
        raise ReferralError(errors or {"": _("Choose an organisation and an end date.")})
    override = overrides.create_override(case, data.to_org_id, reason, expires_on, actor)
    return _create(case, data, data.to_org_id, actor, override_id=override.id)


def _create(
    case: Case,
    data: ReferralInput,
    to_org_id: uuid.UUID,
    actor: Any,
    consent: Consent | None = None,
    override_id: uuid.UUID | None = None,
) -> Referral:
    if getattr(actor, "organisation_id", None) != case.owner_org_id:
        # A referral is always "from" the owner organisation: only its own staff make one.
        raise ReferralError({"": _("Only the case's own organisation can refer it.")})
    referral = Referral(
        case=case,
        from_org_id=case.owner_org_id,
        to_org_id=to_org_id,
        service_kind=data.service_kind,
        consent_id=consent.id if consent is not None else None,
        override_id=override_id,
        field_scope=frozenset(data.field_scope),
        status="pending",
        created_by_id=getattr(actor, "id", None),
        created_at=utcnow(),
    )
    referral.message = data.message
    session.add(referral)
    session.flush()
    audit.record(
        "referral.create",
        target=referral,
        case_id=case.id,
        actor=actor,
        details={
            "to_org_id": str(to_org_id),
            "service_kind": data.service_kind,
            "scope": sorted(data.field_scope),
            "basis": "consent" if consent is not None else "override",
        },
    )
    return referral


# -- partner notes ------------------------------------------------------------------------------
def add_partner_note(grant: access.CaseGrant, body: str) -> CaseNote:
    """A partner's note on a case referred to it (``grant`` must allow PARTNER_NOTE_ADD). The
    owner organisation reads it; no other partner ever does (presenters.partner_notes)."""
    grant.require(access.Permission.PARTNER_NOTE_ADD)
    user = grant.user
    note = CaseNote(case=grant.case, author_id=user.id, author_org_id=user.organisation_id, shareable=True)
    note.body = body
    session.add(note)
    session.flush()
    audit.record(
        "note.add", target=note, case_id=grant.case_id, actor=user, details={"shareable": True, "by": "partner"}
    )
    return note


# -- transitions --------------------------------------------------------------------------------
def _check(referral: Referral, version_id: int | None, statuses: Collection[str]) -> None:
    if version_id is not None and version_id != referral.version_id:
        raise ReferralConflict(referral)
    if referral.status not in statuses:
        raise ReferralConflict(referral)


def _clean_reason(reason: str | None, field: str, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if required and reason is None:
        raise ReferralError({field: _("Give a reason.")})
    if reason and (len(reason) > MAX_TEXT or has_control_characters(reason, multiline=True)):
        raise ReferralError({field: _("Keep the reason under %(n)d characters of plain text.", n=MAX_TEXT)})
    return reason


def respond(referral: Referral, accept: bool, reason: str | None, version_id: int | None, actor: Any) -> None:
    """The partner accepts or declines a pending referral (a decline needs a reason).
    Raises ReferralError, or ReferralConflict when it is no longer pending or changed."""
    _check(referral, version_id, ("pending",))
    reason = _clean_reason(reason, "reason", required=not accept)
    if accept and not basis_in_force(referral):
        raise ReferralError({"": _("The consent this referral rests on is no longer in force; it cannot be accepted.")})
    referral.status = "accepted" if accept else "declined"
    referral.responded_by_id = getattr(actor, "id", None)
    referral.responded_at = utcnow()
    referral.response_reason = reason
    session.flush()
    audit.record(
        "referral.accept" if accept else "referral.decline", target=referral, case_id=referral.case_id, actor=actor
    )
    if not accept:
        _end_override(referral, actor)


def complete(referral: Referral, version_id: int | None, actor: Any) -> None:
    """The partner marks an accepted referral completed (its access through it then ends)."""
    _check(referral, version_id, ("accepted",))
    referral.status = "completed"
    referral.completed_by_id = getattr(actor, "id", None)
    referral.completed_at = utcnow()
    session.flush()
    audit.record("referral.complete", target=referral, case_id=referral.case_id, actor=actor)
    _end_override(referral, actor)


def revoke(
    referral: Referral, reason: str | None, version_id: int | None, actor: Any, cause: str = "referring_org"
) -> None:
    """The referring side revokes an open referral (with a reason): the partner's access ends."""
    _check(referral, version_id, OPEN_STATUSES)
    reason = _clean_reason(reason, "reason", required=cause == "referring_org")
    _revoke(referral, actor, cause, reason)


def _revoke(referral: Referral, actor: Any, cause: str, reason: str | None = None) -> None:
    referral.status = "revoked"
    referral.revoked_by_id = getattr(actor, "id", None)
    referral.revoked_at = utcnow()
    referral.revoke_cause = cause
    if reason is not None:
        referral.revoke_reason = reason
    session.flush()
    audit.record("referral.revoke", target=referral, case_id=referral.case_id, actor=actor, details={"cause": cause})
    _end_override(referral, actor)


def _end_override(referral: Referral, actor: Any) -> None:
    if referral.override_id is not None:
        overrides.end_overrides(referral.case, actor, cause="referral_ended", override_id=referral.override_id)


def open_referrals(
    case_id: uuid.UUID, to_org_id: uuid.UUID | None = None, consent_id: uuid.UUID | None = None
) -> list[Referral]:
    """The case's open referrals (to one organisation / resting on one consent), oldest first."""
    query = select(Referral).where(Referral.case_id == case_id, Referral.status.in_(OPEN_STATUSES))
    if to_org_id is not None:
        query = query.where(Referral.to_org_id == to_org_id)
    if consent_id is not None:
        query = query.where(Referral.consent_id == consent_id)
    return list(session.execute(query.order_by(Referral.created_at)).scalars())


def revoke_open_referrals(
    case: Case,
    actor: Any,
    cause: str,
    to_org_id: uuid.UUID | None = None,
    consent_id: uuid.UUID | None = None,
) -> int:
    """Revoke the case's open referrals (to one organisation / resting on one consent).
    For system-driven ends: consent withdrawn or refused, case erased. Returns the count."""
    referrals = open_referrals(case.id, to_org_id=to_org_id, consent_id=consent_id)
    for referral in referrals:
        _revoke(referral, actor, cause)
    return len(referrals)


def attach_consent_to_override_referrals(case: Case, to_org_id: uuid.UUID, consent: Consent, actor: Any) -> int:
    """The person granted consent to share with an organisation that an emergency referral
    went to: the open referral now rests on their consent (the override ends)."""
    query = select(Referral).where(
        Referral.case_id == case.id,
        Referral.to_org_id == to_org_id,
        Referral.status.in_(OPEN_STATUSES),
        Referral.consent_id.is_(None),
    )
    referrals = list(session.execute(query).scalars())
    for referral in referrals:
        referral.consent_id = consent.id
        audit.record(
            "referral.consent_attached",
            target=referral,
            case_id=case.id,
            actor=actor,
            details={"consent_id": str(consent.id)},
        )
    session.flush()
    return len(referrals)
