"""Consent records: never a boolean on the case; the current state is derived from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow


class Consent(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "consents"

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
        """Granted, not withdrawn, and not expired on the given day."""
        return (
            self.decision == "granted"
            and (self.withdrawn_on is None or self.withdrawn_on > on)
            and (self.expires_on is None or self.expires_on >= on)
            and self.given_on <= on
        )
