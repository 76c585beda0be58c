"""A task of a case: typed by a caseworker, an action of a case plan, or a deadline derived from
a date already recorded (a permit's expiry, a travel date, a consent's end...)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from casework.assistance.models import Service

from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow

OPEN = "open"
DONE = "done"
CANCELLED = "cancelled"


class Task(UuidPrimaryKey, CaseOwned, Base):
    """Something to do on a case by a date.

    ``title_code`` is a code of ``vocab.TASK_TITLES``; ``title`` is free text (encrypted under
    the case's data key) for "other" or a plan action's own words. ``assignee_id`` None means
    "whoever the case is assigned to" (derived deadlines follow the case when it is reassigned).
    A derived deadline carries ``(source_kind, source_id)``: the record whose date it comes from
    (unique: one task per source), kept in step by ``casework.tasks.derived``.
    """

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("source_kind", "source_id", name="uq_tasks_source"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    title_code: Mapped[str] = mapped_column(String(40))  # vocab.TASK_TITLES
    title_ct: Mapped[bytes | None] = mapped_column("title", LargeBinary)
    title = EncryptedField[str]("title_ct", TEXT)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=OPEN)  # vocab.TASK_STATUSES
    # A deadline derived from a record (casework.tasks.derived.SOURCES), else None.
    source_kind: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[uuid.UUID | None]
    # The service it is about (a partner sees only tasks of services its organisation provides).
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    case: Mapped[Case] = relationship()
    # Never loaded through: it makes the unit of work insert a new service before its deadline.
    service: Mapped[Service | None] = relationship(foreign_keys=[service_id], lazy="raise_on_sql")

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def derived(self) -> bool:
        return self.source_kind is not None

    def __repr__(self) -> str:  # never victim data
        return f"<Task {self.id} {self.title_code} {self.status}>"


# A case's open tasks by date (the case file, the caseworker's work list: cases first, then this).
Index("ix_tasks_case_status_due", Task.case_id, Task.status, Task.due_on)
# Open tasks by date across an organisation (a supervisor's team counts: what is due by the end
# of the week, not every open task).
Index("ix_tasks_status_due", Task.status, Task.due_on)
# Tasks given to someone other than the case's assignee (a supervisor's own list).
# Partial: most tasks follow the case's assignee (NULL) and are not in it.
Index(
    "ix_tasks_assignee_status_due",
    Task.assignee_id,
    Task.status,
    Task.due_on,
    postgresql_where=Task.assignee_id.is_not(None),
    sqlite_where=Task.assignee_id.is_not(None),
)
