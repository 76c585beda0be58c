"""Referrals of a case to a partner organisation, resting on a consent record."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework import vocab
from casework.auth.models import Organisation
from casework.cases.models import Case, CaseOwned
from casework.consent.models import Consent
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow
from casework.types import CodeSet


class Referral(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "referrals"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    to_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_kind: Mapped[str] = mapped_column(String(20))  # SERVICE_KINDS
    consent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consents.id"))
    # The fields the partner may see: never more than the referral needs.
    field_scope: Mapped[frozenset[str]] = mapped_column(CodeSet(vocab.REFERRAL_SCOPE_FIELDS))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # REFERRAL_STATUSES
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    # What the referral asks for and why a partner declined: may mention the person, so encrypted.
    message_ct: Mapped[bytes | None] = mapped_column("message", LargeBinary)
    message = EncryptedField[str]("message_ct", TEXT)
    response_reason_ct: Mapped[bytes | None] = mapped_column("response_reason", LargeBinary)
    response_reason = EncryptedField[str]("response_reason_ct", TEXT)

    case: Mapped[Case] = relationship()
    consent: Mapped[Consent] = relationship()
    from_org: Mapped[Organisation] = relationship(foreign_keys=[from_org_id])
    to_org: Mapped[Organisation] = relationship(foreign_keys=[to_org_id])

    __mapper_args__ = {"version_id_col": version_id}
