"""Consent records: never a boolean on the case; the current state is derived from them.

A :class:`ConsentOverride` is not consent: it is a supervisor's written, time-limited decision
to refer without consent in an emergency (see ``casework.consent.services``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow


class Consent(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "consents"
    # The current-decision lookups (access.active_consent_condition) search by case, purpose and
    # organisation; without statistics SQLite would otherwise walk a low-selectivity index
    # (purpose, or organisation IS NULL) once per case: quadratic on a million cases.
    __table_args__ = (Index("ix_consents_case_id_purpose", "case_id", "purpose", "organisation_id"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(40), index=True)  # CONSENT_PURPOSES
    # For purpose "referral_sharing": the organisation the victim agreed to share with.
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # CONSENT_DECISIONS
    method: Mapped[str] = mapped_column(String(20))  # CONSENT_METHODS
    given_by: Mapped[str] = mapped_column(String(30))  # CONSENT_GIVERS
    given_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_recorded_at: Mapped[datetime | None]

    # A guardian's or representative's name identifies the victim's circle: encrypted.
    giver_name_ct: Mapped[bytes | None] = mapped_column("giver_name", LargeBinary)
    giver_name = EncryptedField[str]("giver_name_ct", TEXT)
    notes_ct: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    notes = EncryptedField[str]("notes_ct", TEXT)

    case: Mapped[Case] = relationship()

    def is_active(self, on: date) -> bool:
        """Granted, not withdrawn, and not expired on the given day (this row alone; whether a
        later record supersedes it is decided by ``services.current_consents``)."""
        return (
            self.decision == "granted"
            and (self.withdrawn_on is None or self.withdrawn_on > on)
            and (self.expires_on is None or self.expires_on >= on)
            and self.given_on <= on
        )


class ConsentOverride(UuidPrimaryKey, CaseOwned, Base):
    """A supervisor's emergency decision to share with one organisation WITHOUT consent.

    It allows exactly one referral (to ``organisation_id``), for a few days, and nothing else:
    it never counts as consent for any purpose, export or summary. It ends early when it is
    ended by hand, when the person's own decision for that organisation is recorded, or when
    the referral resting on it ends.
    """

    __tablename__ = "consent_overrides"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    starts_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    end_cause: Mapped[str | None] = mapped_column(String(30))  # OVERRIDE_END_CAUSES in services

    # Why consent could not be sought: it describes the person's situation, so encrypted.
    reason_ct: Mapped[bytes | None] = mapped_column("reason", LargeBinary)
    reason = EncryptedField[str]("reason_ct", TEXT)

    case: Mapped[Case] = relationship()

    def is_active(self, on: date) -> bool:
        return self.ended_at is None and self.starts_on <= on <= self.expires_on
