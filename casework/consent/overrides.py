"""Emergency overrides: a supervisor refers WITHOUT consent, in writing, for a few days.

What an override allows, precisely (and nothing more):

* ONE referral of the case to ONE named active partner organisation, for one kind of
  assistance, with a field scope chosen as for any referral;
* only when the person cannot be asked now (e.g. unconscious, in hospital, in immediate
  danger) and their life or safety is at risk: a written reason of at least
  ``MIN_REASON_CHARS`` characters and an explicit confirmation are required;
* only when the person has NOT decided themself: never over a refusal or withdrawal on
  record for that organisation (their own decision stands), and not when consent is in force
  (then a normal referral is made);
* for at most ``MAX_DAYS`` days. It ends earlier when the person's own decision for that
  organisation is recorded (a grant takes over the referral; a refusal revokes it), when the
  referral ends, or when the case is erased.

It is never consent: it opens no other gate (research exports, law-enforcement or partner
summaries, other organisations), and the referral shows on both sides that it rests on an
override. Creating and ending it is audited (``consent.override``, ``consent.override_end``).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casework.audit import writer as audit
from casework.cases.models import Case
from casework.consent import services as consent_services
from casework.consent.forms import has_control_characters
from casework.consent.models import ConsentOverride
from casework.db import session, utcnow

MIN_REASON_CHARS = 20
MAX_REASON_CHARS = 2000
MAX_DAYS = 7
END_CAUSES = ("ended_by_hand", "person_decided", "referral_ended", "case_erased")


def validate(
    case: Case, organisation_id: uuid.UUID | None, reason: str, expires_on: date | None, *, actor: Any
) -> dict[str, str]:
    """The override's own rules; field -> message (empty when valid). Only a supervisor of the
    organisation that owns the case may override: never another organisation's supervisor
    (a break-glass visitor), whatever reached this function."""
    today = date.today()
    errors: dict[str, str] = {}
    if getattr(actor, "organisation_id", None) != case.owner_org_id or getattr(actor, "role", None) != "supervisor":
        errors[""] = _("Only a supervisor of the case's own organisation can override consent.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        errors["reason"] = _(
            "Explain in at least %(n)d characters why consent cannot be sought and what is at risk.",
            n=MIN_REASON_CHARS,
        )
    elif len(reason) > MAX_REASON_CHARS or has_control_characters(reason, multiline=True):
        errors["reason"] = _("Keep the reason under %(n)d characters of plain text.", n=MAX_REASON_CHARS)
    if expires_on is None or not today <= expires_on <= today + timedelta(days=MAX_DAYS):
        errors["expires_on"] = _("An override ends within %(n)d days from today.", n=MAX_DAYS)
    if organisation_id is not None:
        state = consent_services.current_consents(case.id).get((consent_services.REFERRAL_PURPOSE, organisation_id))
        if state is not None and state.active:
            errors["to_org_id"] = _(
                "The person's consent to share with this organisation is in force: make a normal referral."
            )
        elif state is not None and state.state in ("refused", "withdrawn"):
            errors["to_org_id"] = _(
                "The person refused or withdrew consent to share with this organisation: "
                "an override cannot overrule their decision."
            )
    return errors


def create_override(
    case: Case, organisation_id: uuid.UUID, reason: str, expires_on: date, actor: Any
) -> ConsentOverride:
    """Create the override (the caller validated it and creates the referral resting on it)."""
    override = ConsentOverride(
        case=case,
        organisation_id=organisation_id,
        created_by_id=getattr(actor, "id", None),
        created_at=utcnow(),
        starts_on=date.today(),
        expires_on=expires_on,
    )
    override.reason = reason.strip()
    session.add(override)
    session.flush()
    audit.record(
        "consent.override",
        target=override,
        case_id=case.id,
        actor=actor,
        details={"organisation_id": str(organisation_id), "expires_on": expires_on.isoformat()},
    )
    return override


def end_overrides(
    case: Case,
    actor: Any,
    cause: str,
    organisation_id: uuid.UUID | None = None,
    override_id: uuid.UUID | None = None,
) -> int:
    """End the case's overrides still open (for one organisation, or one override). Audited."""
    query = select(ConsentOverride).where(ConsentOverride.case_id == case.id, ConsentOverride.ended_at.is_(None))
    if organisation_id is not None:
        query = query.where(ConsentOverride.organisation_id == organisation_id)
    if override_id is not None:
        query = query.where(ConsentOverride.id == override_id)
    ended = 0
    for override in session.execute(query).scalars():
        override.ended_at = utcnow()
        override.ended_by_id = getattr(actor, "id", None)
        override.end_cause = cause
        audit.record("consent.override_end", target=override, case_id=case.id, actor=actor, details={"cause": cause})
        ended += 1
    session.flush()
    return ended


def overrides_of(case_id: uuid.UUID) -> list[ConsentOverride]:
    return list(
        session.execute(
            select(ConsentOverride).where(ConsentOverride.case_id == case_id).order_by(ConsentOverride.created_at)
        ).scalars()
    )
