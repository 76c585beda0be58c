"""Break-glass: a supervisor opens a case outside their normal scope, for a few hours, only
with a written reason. The grant is audited and shown to the case's owner organisation.

The reason is kept in the BreakGlassAccess row (the owner reads it there), never in the audit
event's details, which carry ids only.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casework import access
from casework.audit import writer as audit
from casework.cases.models import BreakGlassAccess, Case
from casework.db import session, utcnow

GRANT_HOURS = 4
MIN_REASON_LENGTH = 20
MAX_REASON_LENGTH = 1000
REFERENCE_PATTERN = re.compile(r"^CT-\d{4}-\d{6}$")


class BreakGlassRefused(ValueError):
    """The grant was refused; ``str(error)`` is a message for the user, ``field`` the form
    field it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def normalise_reference(raw: str) -> str:
    return raw.strip().upper()


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
    # One message whether the reference does not exist, was erased, or is already open to the
    # user: the answer must not reveal whether another organisation holds such a case.
    return _(
        "No case can be opened with emergency access under this reference. Check the reference; "
        "cases you can already open are in your case list."
    )


def grant_access(user: Any, reference: str, reason: str) -> BreakGlassAccess:
    """Grant ``user`` (a supervisor) access to the case with ``reference`` for GRANT_HOURS.

    Raises BreakGlassRefused for a bad reason, or (audited) for a reference that names no live
    case or a case the user can already open. Flushes; never commits.
    """
    reason = check_reason(reason)
    reference = normalise_reference(reference)
    if not REFERENCE_PATTERN.match(reference):
        raise BreakGlassRefused(_("Enter a case reference such as CT-2026-000123."), "reference")
    case = session.execute(
        select(Case).where(Case.reference == reference, Case.erased_at.is_(None))
    ).scalar_one_or_none()
    in_scope = (
        case is not None
        and session.execute(select(Case.id).where(Case.id == case.id, access.case_scope(user))).first() is not None
    )
    if case is None or in_scope:
        audit.record("case.break_glass", outcome="refused", actor=user, details={"reason": "unavailable"})
        raise BreakGlassRefused(unavailable_message(), "reference")
    grant = BreakGlassAccess(
        case_id=case.id,
        user_id=user.id,
        reason=reason,
        granted_at=utcnow(),
        expires_at=utcnow() + timedelta(hours=GRANT_HOURS),
    )
    session.add(grant)
    session.flush()
    audit.record(
        "case.break_glass",
        case_id=case.id,
        target=grant,
        actor=user,
        details={"grant_id": str(grant.id), "hours": GRANT_HOURS},
    )
    return grant


def active_grants(user: Any) -> list[tuple[BreakGlassAccess, str]]:
    """The user's unexpired grants with their case references, newest first."""
    rows = session.execute(
        select(BreakGlassAccess, Case.reference)
        .join(Case, Case.id == BreakGlassAccess.case_id)
        .where(BreakGlassAccess.user_id == user.id, BreakGlassAccess.expires_at > utcnow(), Case.erased_at.is_(None))
        .order_by(BreakGlassAccess.granted_at.desc())
    ).all()
    return [(grant, reference) for grant, reference in rows]
