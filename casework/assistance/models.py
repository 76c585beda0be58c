"""Assistance records by kind: joined-table inheritance on one ``services`` base table."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework import vocab
from casework.auth.models import Organisation
from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, DataKeyOwner, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow
from casework.types import CodeSet


class Service(UuidPrimaryKey, CaseOwned, Base):
    """One piece of assistance for a case, whatever its kind."""

    __tablename__ = "services"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # SERVICE_KINDS
    status: Mapped[str] = mapped_column(String(20), default="needed", index=True)  # SERVICE_STATUSES
    provider_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"))
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    notes_ct: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    notes = EncryptedField[str]("notes_ct", TEXT)

    case: Mapped[Case] = relationship()
    # Many-to-one, loaded with the service list in the same query (no N+1 on the case page).
    provider: Mapped[Organisation | None] = relationship(foreign_keys=[provider_org_id])

    __mapper_args__ = {"polymorphic_on": kind, "version_id_col": version_id}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.status}>"


# Covering index for the dashboard and case lists (kinds and statuses of a set of cases) without
# reading the service rows themselves.
Index("ix_services_case_id_kind_status", Service.case_id, Service.kind, Service.status)


class ShelterStay(Service):
    __tablename__ = "shelter_stays"
    __mapper_args__ = {"polymorphic_identity": "shelter"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    shelter_type: Mapped[str | None] = mapped_column(String(40))  # SHELTER_TYPES
    admitted_on: Mapped[date | None] = mapped_column(Date)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    # Where a person is sheltered can get them found: the facility is encrypted.
    facility_ct: Mapped[bytes | None] = mapped_column("facility", LargeBinary)
    facility = EncryptedField[str]("facility_ct", TEXT)


class LegalAssistance(Service):
    __tablename__ = "legal_assistance"
    __mapper_args__ = {"polymorphic_identity": "legal"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    legal_services: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.LEGAL_SERVICE_TYPES))
    permit_status: Mapped[str | None] = mapped_column(String(40))  # PERMIT_STATUSES
    permit_expires_on: Mapped[date | None] = mapped_column(Date)
    proceeding_type: Mapped[str | None] = mapped_column(String(30))  # LEGAL_PROCEEDING_TYPES
    proceeding_outcome: Mapped[str | None] = mapped_column(String(30))  # LEGAL_OUTCOMES
    # The next hearing or court date: a derived deadline (casework.tasks.derived).
    next_hearing_on: Mapped[date | None] = mapped_column(Date)
    # Lawyer or legal NGO: free text staff type, which may name the person's circle: encrypted.
    representative_ct: Mapped[bytes | None] = mapped_column("representative", LargeBinary)
    representative = EncryptedField[str]("representative_ct", TEXT)


class MedicalAssistance(Service):
    __tablename__ = "medical_assistance"
    __mapper_args__ = {"polymorphic_identity": "medical"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    care_types: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.MEDICAL_CARE_TYPES))
    referred_to_ct: Mapped[bytes | None] = mapped_column("referred_to", LargeBinary)
    referred_to = EncryptedField[str]("referred_to_ct", TEXT)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    # Health information is special-category data: details are encrypted.
    details_ct: Mapped[bytes | None] = mapped_column("details", LargeBinary)
    details = EncryptedField[str]("details_ct", TEXT)


class PsychosocialSupport(Service):
    __tablename__ = "psychosocial_support"
    __mapper_args__ = {"polymorphic_identity": "psychosocial"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    support_types: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.PSYCHOSOCIAL_SUPPORT_TYPES))
    sessions_planned: Mapped[int | None] = mapped_column(Integer)
    sessions_attended: Mapped[int | None] = mapped_column(Integer)


class ReturnAssistance(Service):
    __tablename__ = "return_assistance"
    __mapper_args__ = {"polymorphic_identity": "return"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    destination_country: Mapped[str | None] = mapped_column(String(2))
    travel_date: Mapped[date | None] = mapped_column(Date)
    documents_status: Mapped[str | None] = mapped_column(String(40))  # RETURN_DOCUMENTS_STATUSES
    escorted: Mapped[bool | None] = mapped_column(Boolean)
    risk_level: Mapped[str | None] = mapped_column(String(10))  # RISK_LEVELS
    risk_assessed_on: Mapped[date | None] = mapped_column(Date)
    reception_arranged: Mapped[bool | None] = mapped_column(Boolean)
    reception_organisation_ct: Mapped[bytes | None] = mapped_column("reception_organisation", LargeBinary)
    reception_organisation = EncryptedField[str]("reception_organisation_ct", TEXT)
    # The town a person returns to can locate them: encrypted.
    destination_locality_ct: Mapped[bytes | None] = mapped_column("destination_locality", LargeBinary)
    destination_locality = EncryptedField[str]("destination_locality_ct", TEXT)


class ReintegrationAssistance(Service):
    __tablename__ = "reintegration_assistance"
    __mapper_args__ = {"polymorphic_identity": "reintegration"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    components: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.REINTEGRATION_COMPONENTS))
    plan_agreed_on: Mapped[date | None] = mapped_column(Date)
    grant_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    grant_currency: Mapped[str | None] = mapped_column(String(3))

    follow_ups: Mapped[list[ReintegrationFollowUp]] = relationship(
        back_populates="reintegration",
        cascade="all, delete-orphan",
        order_by="ReintegrationFollowUp.visited_on",
    )


class ReintegrationFollowUp(UuidPrimaryKey, Base):
    """A follow-up visit, with IOM-style sustainability score (0-100)."""

    __tablename__ = "reintegration_follow_ups"

    reintegration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reintegration_assistance.id", ondelete="CASCADE"), index=True
    )
    visited_on: Mapped[date] = mapped_column(Date)
    sustainability_score: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes_ct: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    notes = EncryptedField[str]("notes_ct", TEXT)

    reintegration: Mapped[ReintegrationAssistance] = relationship(back_populates="follow_ups")

    def _encryption_owner(self) -> DataKeyOwner | None:
        from casework.db import session

        parent = self.reintegration
        if parent is None and self.reintegration_id is not None:
            parent = session.get(ReintegrationAssistance, self.reintegration_id)
        return parent._encryption_owner() if parent is not None else None


SERVICE_MODELS: dict[str, type[Service]] = {
    "shelter": ShelterStay,
    "legal": LegalAssistance,
    "medical": MedicalAssistance,
    "psychosocial": PsychosocialSupport,
    "return": ReturnAssistance,
    "reintegration": ReintegrationAssistance,
}
