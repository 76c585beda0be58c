"""Notices to an organisation's supervisors: written by the services whose actions they report
(break-glass, account administration), read by the notifications page. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from casework.auth.models import Organisation, User
from casework.cases.models import BreakGlassAccess, Case
from casework.db import session, utcnow
from casework.notifications.models import Notification

KINDS: dict[str, Any] = {
    "break_glass.granted": _l("Emergency access to a case of your organisation"),
    "break_glass.ended": _l("Emergency access ended"),
    "user.create": _l("An administrator created an account"),
    "user.role_change": _l("An administrator changed an account's role"),
    "user.deactivate": _l("An administrator deactivated an account"),
    "user.reactivate": _l("An administrator reactivated an account"),
    "user.password_reset": _l("An administrator reset an account's password"),
    "user.totp_reset": _l("An administrator reset an account's two-factor authentication"),
    "org.update": _l("The platform operator changed your organisation"),
    "tasks.reminder": _l("Your tasks: overdue and due within a week"),
}
PAGE_SIZE = 100


def notify(
    organisation_id: uuid.UUID,
    kind: str,
    *,
    actor: Any = None,
    case_id: uuid.UUID | None = None,
    subject_user_id: uuid.UUID | None = None,
    break_glass_id: uuid.UUID | None = None,
) -> Notification:
    """Add a notice for ``organisation_id``'s supervisors. Raises KeyError for an unknown kind."""
    KINDS[kind]  # noqa: B018 - an unknown kind is a programming error
    notice = Notification(
        organisation_id=organisation_id,
        kind=kind,
        actor_id=getattr(actor, "id", None),
        case_id=case_id,
        subject_user_id=subject_user_id,
        break_glass_id=break_glass_id,
        created_at=utcnow(),
    )
    session.add(notice)
    session.flush()
    return notice


@dataclass(frozen=True, slots=True)
class NoticeRow:
    id: uuid.UUID
    kind: str
    created_at: datetime
    actor_name: str | None
    actor_organisation: str | None
    subject_name: str | None
    case_id: uuid.UUID | None
    case_reference: str | None
    break_glass_id: uuid.UUID | None
    access_until: datetime | None  # an emergency access still in force: until when

    @property
    def label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))


def notices_for(organisation_id: uuid.UUID, limit: int = PAGE_SIZE) -> list[NoticeRow]:
    """The organisation's notices, newest first, with the names they show: one query."""
    actor = aliased(User)
    subject = aliased(User)
    actor_org = aliased(Organisation)
    now = utcnow()
    rows = session.execute(
        select(
            Notification.id,
            Notification.kind,
            Notification.created_at,
            actor.display_name,
            actor_org.name,
            subject.display_name,
            Notification.case_id,
            Case.reference,
            Notification.break_glass_id,
            BreakGlassAccess.expires_at,
        )
        .outerjoin(actor, actor.id == Notification.actor_id)
        .outerjoin(actor_org, actor_org.id == actor.organisation_id)
        .outerjoin(subject, subject.id == Notification.subject_user_id)
        .outerjoin(Case, Case.id == Notification.case_id)
        .outerjoin(BreakGlassAccess, BreakGlassAccess.id == Notification.break_glass_id)
        .where(Notification.organisation_id == organisation_id, Notification.user_id.is_(None))
        .order_by(Notification.created_at.desc())
        .limit(limit)
    ).all()
    return [
        NoticeRow(*row[:9], access_until=row[9] if row[9] is not None and row[9] > now else None)  # type: ignore[misc]
        for row in rows
    ]
