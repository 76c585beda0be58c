"""Break-glass: a supervisor reads another organisation's case for a few hours, in an emergency,
with a written reason. Read-only (``access.RELATION_PERMISSIONS``), capped per supervisor and
day, audited, and notified to the owner organisation's supervisors, who may end it.

A case is named without enumerating: by the identifiers of the person in front of the supervisor
(:func:`search` — the name with the date of birth, or a document number, matched under each
organisation's own blind-index key), or from the out-of-scope page of a case link the
supervisor was given (a random id). Never by a sequential reference.

The reason is kept encrypted in the BreakGlassAccess row (the owner reads it there), never in
the audit event's details, which carry ids only.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from casework import access
from casework.audit import writer as audit
from casework.auth.models import Organisation
from casework.cases.models import BreakGlassAccess, BreakGlassDailyCount, Case
from casework.crypto import blind_index
from casework.db import session, utcnow
from casework.notifications import services as notices

GRANT_HOURS = 4
MIN_REASON_LENGTH = 20
MAX_REASON_LENGTH = 1000
MAX_SEARCH_RESULTS = 20


class BreakGlassRefused(ValueError):
    """The grant was refused; ``str(error)`` is a message for the user, ``field`` the form
    field it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class BreakGlassCapReached(BreakGlassRefused):
    """The supervisor was granted the day's allowed number of emergency accesses already."""


def check_reason(reason: str) -> str:
    """The reason, trimmed; raises BreakGlassRefused when too short, too long or holding
    control characters other than line breaks and tabs."""
    reason = reason.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\r\t" for ch in reason):
        raise BreakGlassRefused(_("Remove the invisible control characters."), "reason")
    if len(reason) < MIN_REASON_LENGTH:
        raise BreakGlassRefused(_("Explain why in at least %(n)d characters.", n=MIN_REASON_LENGTH), "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise BreakGlassRefused(_("Use at most %(n)d characters.", n=MAX_REASON_LENGTH), "reason")
    return reason


def unavailable_message() -> str:
    # One message whether the case does not exist, was erased, is the user's own organisation's
    # or is already open to them: the answer must not reveal whether such a case exists.
    return _("Emergency access cannot be given to this case. Cases of your own organisation are in your case list.")


# -- naming a case: by the person's identifiers -------------------------------------------------
@dataclass(frozen=True, slots=True)
class Match:
    case_id: uuid.UUID
    matched_on: tuple[str, ...]


def search(user: Any, full_name: str | None, date_of_birth: date | None, document_number: str | None) -> list[Match]:
    """Live cases of OTHER organisations whose person matches exactly: the name together with
    the date of birth, or the identity document number. Each organisation's cases are indexed
    under its own key, so the index values are computed here for each organisation (the
    database alone links nothing). A name alone is refused (the caller's form says so): it would
    let anyone probe who is registered where. Audited with the criteria names and the count."""
    wanted = []
    if full_name and date_of_birth is not None:
        wanted.append(("name_dob", Case.name_dob_bidx))
    if document_number:
        wanted.append(("document", Case.document_bidx))
    if not wanted:
        return []
    org_ids = session.execute(
        select(Organisation.id).where(Organisation.id != user.organisation_id, Organisation.active.is_(True))
    ).scalars()
    conditions = []
    for org_id in org_ids:
        key = blind_index.organisation_key(org_id)
        per_org = []
        if full_name and date_of_birth is not None:
            value = blind_index.name_dob_index(full_name, None, date_of_birth.isoformat(), key)
            if value:
                per_org.append(Case.name_dob_bidx == value)
        if document_number:
            value = blind_index.document_index(document_number, key)
            if value:
                per_org.append(Case.document_bidx == value)
        if per_org:
            conditions.append(and_(Case.owner_org_id == org_id, or_(*per_org)))
    matches: list[Match] = []
    if conditions:
        rows = session.execute(
            select(Case.id, *(column for _label, column in wanted), Case.owner_org_id)
            .where(Case.erased_at.is_(None), or_(*conditions))
            .order_by(Case.opened_on.desc())
            .limit(MAX_SEARCH_RESULTS)
        ).all()
        for row in rows:
            key = blind_index.organisation_key(row[-1])
            expected = {
                "name_dob": blind_index.name_dob_index(full_name, None, date_of_birth.isoformat(), key)
                if full_name and date_of_birth is not None
                else None,
                "document": blind_index.document_index(document_number, key) if document_number else None,
            }
            matched = tuple(
                label for (label, _c), value in zip(wanted, row[1:-1], strict=True) if value == expected[label]
            )
            matches.append(Match(row[0], matched))
    audit.record_now(
        "case.break_glass_search",
        actor=user,
        details={"criteria": [label for label, _c in wanted], "results": len(matches)},
    )
    return matches


# -- granting ------------------------------------------------------------------------------------
def _count_today(user: Any) -> None:
    """Count one more grant for the supervisor today, or raise BreakGlassCapReached: one
    conditional UPDATE ... RETURNING (or the day's first INSERT), so a burst of concurrent
    requests never exceeds the cap. Rolled back with the grant if the grant fails."""
    cap = current_app.config["CASEWORK"].break_glass_daily_cap
    today = utcnow().date()
    counted = session.execute(
        update(BreakGlassDailyCount)
        .where(
            BreakGlassDailyCount.user_id == user.id,
            BreakGlassDailyCount.day == today,
            BreakGlassDailyCount.grants < cap,
        )
        .values(grants=BreakGlassDailyCount.grants + 1)
        .returning(BreakGlassDailyCount.grants)
    ).scalar_one_or_none()
    if counted is not None:
        return
    exists_today = session.execute(
        select(BreakGlassDailyCount.grants).where(
            BreakGlassDailyCount.user_id == user.id, BreakGlassDailyCount.day == today
        )
    ).scalar_one_or_none()
    if exists_today is None and cap > 0:
        try:
            with session.begin_nested():
                session.execute(insert(BreakGlassDailyCount).values(user_id=user.id, day=today, grants=1))
            return
        except IntegrityError:  # a concurrent request counted the day's first grant
            return _count_today(user)
    audit.record("case.break_glass", outcome="refused", actor=user, details={"reason": "daily_cap"})
    raise BreakGlassCapReached(
        _(
            "You have used the %(n)d emergency accesses allowed per day. Ask a supervisor of the case's "
            "organisation, or try again tomorrow.",
            n=cap,
        ),
        "reason",
    )


def grant_access(user: Any, case_id: uuid.UUID, reason: str) -> BreakGlassAccess:
    """Give ``user`` (a supervisor) read-only access to another organisation's live case for
    GRANT_HOURS, notify the owner organisation's supervisors. Raises BreakGlassRefused for a bad
    reason or (audited, one message) a case that cannot be opened so; BreakGlassCapReached
    (audited) past the daily cap. Flushes; never commits."""
    reason = check_reason(reason)
    case = session.execute(
        select(Case).where(Case.id == case_id, Case.erased_at.is_(None), Case.owner_org_id != user.organisation_id)
    ).scalar_one_or_none()
    already = (
        case is not None
        and session.execute(
            select(BreakGlassAccess.id).where(
                BreakGlassAccess.case_id == case.id, access.active_break_glass_condition(user)
            )
        ).first()
        is not None
    )
    if case is None or already or not access.has_permission(user, access.Permission.CASE_BREAK_GLASS):
        audit.record("case.break_glass", outcome="refused", actor=user, details={"reason": "unavailable"})
        raise BreakGlassRefused(unavailable_message(), "reason")
    _count_today(user)
    now = utcnow()
    grant = BreakGlassAccess(case=case, user_id=user.id, granted_at=now, expires_at=now + timedelta(hours=GRANT_HOURS))
    grant.reason = reason
    session.add(grant)
    session.flush()
    audit.record(
        "case.break_glass",
        case_id=case.id,
        target=grant,
        actor=user,
        details={"grant_id": str(grant.id), "hours": GRANT_HOURS},
    )
    notices.notify(case.owner_org_id, "break_glass.granted", actor=user, case_id=case.id, break_glass_id=grant.id)
    return grant


def end_access(grant: access.CaseGrant, access_id: uuid.UUID) -> BreakGlassAccess:
    """End an emergency access now: by a supervisor of the owner organisation, or by the visitor
    (their own only). ``grant`` is the ender's grant on the case (it allows BREAK_GLASS_END).
    Raises LookupError when there is no such access in force on this case. Audited, notified."""
    grant.require(access.Permission.BREAK_GLASS_END)
    row = session.execute(
        select(BreakGlassAccess).where(
            BreakGlassAccess.id == access_id,
            BreakGlassAccess.case_id == grant.case_id,
            BreakGlassAccess.expires_at > utcnow(),
        )
    ).scalar_one_or_none()
    if row is None or (grant.relation is access.Relation.BREAK_GLASS and row.user_id != grant.user.id):
        raise LookupError("no such emergency access in force")
    now = utcnow()
    row.expires_at = now
    row.ended_at = now
    row.ended_by_id = grant.user.id
    session.flush()
    audit.record(
        "case.break_glass_end",
        case_id=grant.case_id,
        target=row,
        actor=grant.user,
        details={"grant_id": str(row.id), "by": str(grant.relation)},
    )
    notices.notify(
        grant.case.owner_org_id, "break_glass.ended", actor=grant.user, case_id=grant.case_id, break_glass_id=row.id
    )
    return row


def active_grants(user: Any) -> list[tuple[BreakGlassAccess, str]]:
    """The user's emergency accesses in force with their case references, newest first."""
    rows = session.execute(
        select(BreakGlassAccess, Case.reference)
        .join(Case, Case.id == BreakGlassAccess.case_id)
        .where(access.active_break_glass_condition(user), Case.erased_at.is_(None))
        .order_by(BreakGlassAccess.granted_at.desc())
    ).all()
    return [(grant, reference) for grant, reference in rows]
