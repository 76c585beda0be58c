"""Organisations and user accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, ScalarSelect, String, select
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column, relationship

from casework.crypto import TEXT, DataKeyOwner, EncryptedField
from casework.db import Base, UuidPrimaryKey, session, utcnow


class Organisation(UuidPrimaryKey, DataKeyOwner, Base):
    """A lead agency, partner NGO, government body or research institution. Owns a data key for
    records that must outlive a case's own key (the reason a case was erased)."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # vocab.ORGANISATION_KINDS
    country: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Closed cases are anonymised this many years after closure (None: kept until erased).
    retention_years: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r} {self.kind}>"


class User(UserMixin, UuidPrimaryKey, DataKeyOwner, Base):
    """A person who logs in. Owns a data key for its own secrets (the TOTP seed)."""

    __tablename__ = "users"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))  # vocab.ROLES
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(5))

    totp_secret_ct: Mapped[bytes | None] = mapped_column("totp_secret", LargeBinary)
    totp_secret = EncryptedField[str]("totp_secret_ct", TEXT)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Two-factor enrolment in progress: the new secret waits here (encrypted), never in the
    # session cookie, until a code proves the authenticator holds it.
    totp_pending_ct: Mapped[bytes | None] = mapped_column("totp_pending_secret", LargeBinary)
    totp_pending_secret = EncryptedField[str]("totp_pending_ct", TEXT)
    totp_pending_at: Mapped[datetime | None]
    # Highest TOTP time-step accepted so far: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Bumped on logout, password change and deactivation: every older session is void.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return bool(self.active)

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


def display_name_of(user_id: Any) -> ScalarSelect[str]:
    """SQL: the display name of the user ``user_id`` (a value, or a column of the outer query,
    which makes it a correlated subquery); NULL when there is no such user."""
    return select(User.display_name).where(User.id == user_id).scalar_subquery()


def display_names(user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of the users ``user_ids`` (None skipped) in one query; unknown ids are absent."""
    return _names_by_id(User.id, User.display_name, user_ids)


def organisation_names(org_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Names of the organisations ``org_ids`` (None skipped) in one query; unknown ids are absent."""
    return _names_by_id(Organisation.id, Organisation.name, org_ids)


def _names_by_id(
    id_column: InstrumentedAttribute[uuid.UUID],
    name_column: InstrumentedAttribute[str],
    ids: Iterable[uuid.UUID | None],
) -> dict[uuid.UUID, str]:
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(id_column, name_column).where(id_column.in_(wanted))).all())  # type: ignore[arg-type]


class LoginThrottle(Base):
    """Sign-in attempts by source address in the current window, one row per address, counted
    in SQL (``attempts = attempts + 1 ... RETURNING``) before the attempt is checked, so that
    concurrent requests from every worker and host cannot exceed the limit between them."""

    __tablename__ = "login_throttles"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # HMAC of the address
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class TotpUsedStep(Base):
    """A TOTP time step accepted for a user. The primary key makes a code single-use even when
    it is sent many times at once: only one transaction can insert (user, step)."""

    __tablename__ = "totp_used_steps"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
