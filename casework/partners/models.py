"""Referrals of a case to a partner organisation, resting on a consent record (or, in an
emergency, on a supervisor's written override: ``casework.consent.models.ConsentOverride``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework import vocab
from casework.auth.models import Organisation
from casework.cases.models import Case, CaseOwned
from casework.consent.models import Consent, ConsentOverride
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow
from casework.types import CodeSet

OPEN_STATUSES = ("pending", "accepted")


class Referral(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "referrals"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    to_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_kind: Mapped[str] = mapped_column(String(20))  # SERVICE_KINDS
    # The consent it rests on; None only while it rests on an emergency override.
    consent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consents.id"), index=True)
    override_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consent_overrides.id"), index=True)
    # The fields the partner may see: never more than the referral needs.
    field_scope: Mapped[frozenset[str]] = mapped_column(CodeSet(vocab.REFERRAL_SCOPE_FIELDS))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # REFERRAL_STATUSES
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    # Why it was revoked, as a code (services.REVOKE_CAUSES): shown on both sides.
    revoke_cause: Mapped[str | None] = mapped_column(String(30))
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    # What the referral asks for and why a partner declined: may mention the person, so encrypted.
    message_ct: Mapped[bytes | None] = mapped_column("message", LargeBinary)
    message = EncryptedField[str]("message_ct", TEXT)
    response_reason_ct: Mapped[bytes | None] = mapped_column("response_reason", LargeBinary)
    response_reason = EncryptedField[str]("response_reason_ct", TEXT)
    revoke_reason_ct: Mapped[bytes | None] = mapped_column("revoke_reason", LargeBinary)
    revoke_reason = EncryptedField[str]("revoke_reason_ct", TEXT)

    case: Mapped[Case] = relationship()
    consent: Mapped[Consent | None] = relationship()
    override: Mapped[ConsentOverride | None] = relationship()
    from_org: Mapped[Organisation] = relationship(foreign_keys=[from_org_id])
    to_org: Mapped[Organisation] = relationship(foreign_keys=[to_org_id])

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def reference(self) -> str:
        """A referral's own reference: it says nothing about the case (shown while pending)."""
        return f"REF-{self.id.hex[:8].upper()}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
