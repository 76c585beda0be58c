"""A notice to one organisation's supervisors."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, UuidPrimaryKey, utcnow


class Notification(UuidPrimaryKey, Base):
    """Something the organisation's supervisors must know about. It holds ids and a kind code
    only (no free text): a page shows the names and the case reference when it lists it."""

    __tablename__ = "notifications"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(40))  # notifications.services.KINDS
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    break_glass_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("break_glass_access.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# An organisation's notices, newest first (the list page and a later reminder job read this).
Index("ix_notifications_org_created", Notification.organisation_id, Notification.created_at)
