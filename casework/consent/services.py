"""Consent rules: record and withdraw consent, and derive the current state from the records.

The current state for a purpose (and, for ``referral_sharing``, an organisation) is the
person's LATEST decision (by date given, then time recorded): granted and in force means
active; a refusal, a withdrawal or an expiry means none. ``casework.access`` applies the same
rule in SQL (``active_consent_condition``), so a gate never disagrees with a page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select

from casework import vocab
from casework.access import CaseGrant, Permission
from casework.audit import writer as audit
from casework.auth.models import Organisation
from casework.cases.models import Case
from casework.consent.models import Consent
from casework.db import session, utcnow

ADULT_AGE = 18
REFERRAL_PURPOSE = "referral_sharing"
PARTNER_ORG_KINDS = ("partner_ngo", "government")
# A child's consent is given by someone with parental responsibility.
GIVERS_FOR_A_CHILD = frozenset({"guardian", "legal_representative"})


class ConsentError(ValueError):
    """A consent change was refused. ``errors`` maps form field names ("" = the whole form) to
    messages for the user; none of them contains victim data."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("consent refused: " + ", ".join(sorted(errors)))
        self.errors = errors


class ConsentConflict(Exception):
    """The record changed meanwhile (e.g. it was already withdrawn): a 409."""


@dataclass(frozen=True, slots=True)
class ConsentInput:
    purpose: str
    organisation_id: uuid.UUID | None
    decision: str
    method: str
    given_by: str
    giver_name: str | None
    given_on: date
    expires_on: date | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The person's current decision for one purpose (and organisation)."""

    purpose: str
    organisation_id: uuid.UUID | None
    latest: Consent
    state: str  # active | refused | withdrawn | expired | not_started

    @property
    def active(self) -> bool:
        return self.state == "active"


def consent_records(case_id: uuid.UUID) -> Select[tuple[Consent]]:
    """SQL: every consent record of a case, oldest decision first (callers may add columns)."""
    return select(Consent).where(Consent.case_id == case_id).order_by(Consent.given_on, Consent.recorded_at)


def consents_of(case_id: uuid.UUID) -> list[Consent]:
    """Every consent record of a case, oldest decision first."""
    return list(session.execute(consent_records(case_id)).scalars())


def _state_of(consent: Consent, on: date) -> str:
    if consent.given_on > on:
        return "not_started"
    if consent.withdrawn_on is not None and consent.withdrawn_on <= on:
        return "withdrawn"
    if consent.decision != "granted":
        return "refused"
    if consent.expires_on is not None and consent.expires_on < on:
        return "expired"
    return "active"


def current_consents(
    case_id: uuid.UUID, on: date | None = None, records: Iterable[Consent] | None = None
) -> dict[tuple[str, uuid.UUID | None], ConsentState]:
    """Per (purpose, organisation id or None) the latest decision given on or before ``on``
    and whether it is in force. Purposes never decided are absent (= no consent)."""
    on = on or date.today()
    latest: dict[tuple[str, uuid.UUID | None], Consent] = {}
    ordered = sorted(records if records is not None else consents_of(case_id), key=_order_key)
    for consent in ordered:
        if consent.given_on <= on:
            latest[(consent.purpose, consent.organisation_id)] = consent
    return {key: ConsentState(key[0], key[1], consent, _state_of(consent, on)) for key, consent in latest.items()}


def _order_key(consent: Consent) -> tuple[date, Any]:
    return (consent.given_on, consent.recorded_at or utcnow())


def active_consent(
    case_id: uuid.UUID, purpose: str, organisation_id: uuid.UUID | None = None, on: date | None = None
) -> Consent | None:
    """The consent record in force for this purpose (and organisation), or None."""
    state = current_consents(case_id, on).get((purpose, organisation_id))
    return state.latest if state is not None and state.active else None


def partner_organisations(exclude: uuid.UUID | None = None) -> list[Organisation]:
    """Organisations a case may be shared with: active partner NGOs and government bodies."""
    query = select(Organisation).where(Organisation.active.is_(True), Organisation.kind.in_(PARTNER_ORG_KINDS))
    if exclude is not None:
        query = query.where(Organisation.id != exclude)
    return list(session.execute(query.order_by(Organisation.name)).scalars())


def age_on(case: Case, day: date) -> int | None:
    """The person's age on ``day``: from the date of birth when known, else the age recorded
    at registration (a child at registration stays a child until a date of birth says not)."""
    born = case.date_of_birth
    if isinstance(born, date):
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return case.age_at_registration


def validate(case: Case, data: ConsentInput, today: date | None = None) -> dict[str, str]:
    """Business rules of a consent record; returns field -> message (empty when valid)."""
    today = today or date.today()
    errors: dict[str, str] = {}
    if data.purpose not in vocab.CONSENT_PURPOSES:
        errors["purpose"] = _("Choose a purpose from the list.")
    if data.decision not in vocab.CONSENT_DECISIONS:
        errors["decision"] = _("Choose granted or refused.")
    if data.method not in vocab.CONSENT_METHODS:
        errors["method"] = _("Choose how consent was given.")
    if data.given_by not in vocab.CONSENT_GIVERS:
        errors["given_by"] = _("Choose who gave it.")
    if data.purpose == REFERRAL_PURPOSE:
        valid_ids = {org.id for org in partner_organisations(exclude=case.owner_org_id)}
        if data.organisation_id is None:
            errors["organisation_id"] = _("Name the organisation the person agreed to share with.")
        elif data.organisation_id not in valid_ids:
            errors["organisation_id"] = _("Choose an active partner organisation from the list.")
    elif data.organisation_id is not None:
        errors["organisation_id"] = _("An organisation is only named for sharing with a referral partner.")
    age = age_on(case, data.given_on)
    if age is not None and age < ADULT_AGE and data.given_by not in GIVERS_FOR_A_CHILD:
        errors["given_by"] = _("The person was a child on that date: a guardian or legal representative gives consent.")
    if data.given_by == "victim" and data.method == "guardian":
        errors["method"] = _("Consent given by the person themself cannot be recorded as given by a guardian.")
    if data.given_by in GIVERS_FOR_A_CHILD and not data.giver_name:
        errors["giver_name"] = _("Enter the name of the guardian or representative.")
    if data.given_on > today:
        errors["given_on"] = _("The date given cannot be in the future.")
    if data.expires_on is not None and data.expires_on <= data.given_on:
        errors["expires_on"] = _("The expiry date must be after the date given.")
    if data.decision == "refused" and data.expires_on is not None:
        errors["expires_on"] = _("A refusal has no expiry date.")
    return errors


def record_consent(grant: CaseGrant, data: ConsentInput) -> Consent:
    """Record a consent decision in the person's name, on the case of ``grant`` (which must
    allow CONSENT_RECORD: never a break-glass visitor, never a partner; refused with a 403
    otherwise). Raises ConsentError when a rule is broken.

    A new decision on sharing with an organisation also acts on referrals: a refusal revokes
    the open referrals to it and ends any emergency override; a grant attaches open referrals
    that rested on an override to this consent (the person's own decision now governs).
    """
    grant.require(Permission.CONSENT_RECORD)
    case, actor = grant.case, grant.user
    errors = validate(case, data)
    if errors:
        raise ConsentError(errors)
    consent = Consent(
        case=case,
        purpose=data.purpose,
        organisation_id=data.organisation_id,
        decision=data.decision,
        method=data.method,
        given_by=data.given_by,
        given_on=data.given_on,
        expires_on=data.expires_on,
        recorded_by_id=getattr(actor, "id", None),
        recorded_at=utcnow(),
    )
    consent.giver_name = data.giver_name if data.given_by != "victim" else None
    consent.notes = data.notes
    session.add(consent)
    session.flush()
    audit.record(
        "consent.record",
        target=consent,
        case_id=case.id,
        actor=actor,
        details={
            "purpose": data.purpose,
            "decision": data.decision,
            "method": data.method,
            "given_by": data.given_by,
            "organisation_id": str(data.organisation_id) if data.organisation_id else None,
        },
    )
    if data.purpose == REFERRAL_PURPOSE and data.organisation_id is not None:
        _apply_sharing_decision(case, data.organisation_id, consent, actor)
    return consent


def _apply_sharing_decision(case: Case, organisation_id: uuid.UUID, consent: Consent, actor: Any) -> None:
    from casework.consent import overrides
    from casework.partners import services as referrals

    if consent.is_active(date.today()):
        referrals.attach_consent_to_override_referrals(case, organisation_id, consent, actor)
    else:
        referrals.revoke_open_referrals(case, actor, cause="consent_refused", to_org_id=organisation_id)
    overrides.end_overrides(case, actor, cause="person_decided", organisation_id=organisation_id)


def referrals_a_withdrawal_revokes(consent: Consent) -> list[Any]:
    """The open referrals that withdrawing ``consent`` would revoke, as :func:`withdraw_consent`
    chooses them: those resting on it, and, when no other decision to share with that
    organisation stays in force, every open referral to it. Empty for any other purpose, a
    refusal or a consent already withdrawn. Raises nothing; changes nothing."""
    if consent.purpose != REFERRAL_PURPOSE or consent.organisation_id is None:
        return []
    if consent.decision != "granted" or consent.withdrawn_on is not None:
        return []
    from casework.partners import services as referrals

    found = {r.id: r for r in referrals.open_referrals(consent.case_id, consent_id=consent.id)}
    current = active_consent(consent.case_id, REFERRAL_PURPOSE, consent.organisation_id)
    if current is None or current.id == consent.id:
        found.update({r.id: r for r in referrals.open_referrals(consent.case_id, to_org_id=consent.organisation_id)})
    return sorted(found.values(), key=lambda r: r.created_at)


def withdraw_consent(grant: CaseGrant, consent: Consent, withdrawn_on: date) -> int:
    """Record the withdrawal of a consent of the case of ``grant`` (which must allow
    CONSENT_RECORD). Returns how many referrals it revoked.

    Raises ConsentError for a date in the future or before the consent was given, and
    ConsentConflict when it was already withdrawn or was a refusal. Withdrawing consent to
    share ends the partner's access at once: the access policy reads the records on every
    request, and the open referrals resting on it are revoked here too.
    """
    grant.require(Permission.CONSENT_RECORD)
    if consent.case_id != grant.case_id:
        raise ConsentConflict("the consent belongs to another case")
    actor = grant.user
    if consent.withdrawn_on is not None:
        raise ConsentConflict("already withdrawn")
    if consent.decision != "granted":
        raise ConsentConflict("a refusal cannot be withdrawn")
    if withdrawn_on > date.today():
        raise ConsentError({"withdrawn_on": _("The date of withdrawal cannot be in the future.")})
    if withdrawn_on < consent.given_on:
        raise ConsentError({"withdrawn_on": _("The date of withdrawal cannot be before consent was given.")})
    consent.withdrawn_on = withdrawn_on
    consent.withdrawal_recorded_by_id = getattr(actor, "id", None)
    consent.withdrawal_recorded_at = utcnow()
    session.flush()
    revoked = 0
    if consent.purpose == REFERRAL_PURPOSE and consent.organisation_id is not None:
        from casework.partners import services as referrals

        case = consent.case
        revoked = referrals.revoke_open_referrals(case, actor, cause="consent_withdrawn", consent_id=consent.id)
        if active_consent(case.id, REFERRAL_PURPOSE, consent.organisation_id) is None:
            revoked += referrals.revoke_open_referrals(
                case, actor, cause="consent_withdrawn", to_org_id=consent.organisation_id
            )
    audit.record(
        "consent.withdraw",
        target=consent,
        case_id=consent.case_id,
        actor=actor,
        details={"purpose": consent.purpose, "referrals_revoked": revoked},
    )
    return revoked
