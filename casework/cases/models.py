"""Cases, their trafficking profile and notes.

Identifying data is encrypted under the case's own data key; coded analytic fields stay plain
for SQL reporting; blind indexes allow exact search and duplicate detection.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework import vocab
from casework.crypto import DATE, TEXT, DataKeyOwner, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow
from casework.types import CodeSet, CodeTuple

if TYPE_CHECKING:
    from casework.auth.models import Organisation, User


class CaseOwned:
    """Rows encrypted under their case's data key."""

    if TYPE_CHECKING:
        case_id: Mapped[uuid.UUID]
        case: Mapped[Case]

    def _encryption_owner(self) -> DataKeyOwner | None:
        from casework.db import session

        case = self.case
        if case is None and self.case_id is not None:
            case = session.get(Case, self.case_id)
        return case


class CaseReferenceCounter(Base):
    """Per-year sequence for case references (``CT-2026-000123``), safe across workers."""

    __tablename__ = "case_reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Case(UuidPrimaryKey, DataKeyOwner, Base):
    __tablename__ = "cases"

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # CASE_STATUSES
    opened_on: Mapped[date] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # A caseworker may link a registration to an earlier case of the same person.
    linked_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    erased_at: Mapped[datetime | None]
    # Why the case was erased (casework.admin.retention): encrypted under the owner
    # organisation's data key, not the case's, so that it stays readable after the case's key
    # is destroyed.
    erasure_reason_ct: Mapped[bytes | None] = mapped_column("erasure_reason", LargeBinary)
    erasure_reason = EncryptedField[str]("erasure_reason_ct", TEXT, key_owner="owner_organisation")

    # -- identifying: encrypted ----------------------------------------------------------
    given_name_ct: Mapped[bytes | None] = mapped_column("given_name", LargeBinary)
    family_name_ct: Mapped[bytes | None] = mapped_column("family_name", LargeBinary)
    aliases_ct: Mapped[bytes | None] = mapped_column("aliases", LargeBinary)
    date_of_birth_ct: Mapped[bytes | None] = mapped_column("date_of_birth", LargeBinary)
    place_of_birth_ct: Mapped[bytes | None] = mapped_column("place_of_birth", LargeBinary)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    email_ct: Mapped[bytes | None] = mapped_column("email", LargeBinary)
    address_ct: Mapped[bytes | None] = mapped_column("address", LargeBinary)
    languages_ct: Mapped[bytes | None] = mapped_column("languages", LargeBinary)
    document_type_ct: Mapped[bytes | None] = mapped_column("document_type", LargeBinary)
    document_number_ct: Mapped[bytes | None] = mapped_column("document_number", LargeBinary)
    document_country_ct: Mapped[bytes | None] = mapped_column("document_country", LargeBinary)

    given_name = EncryptedField[str]("given_name_ct", TEXT)
    family_name = EncryptedField[str]("family_name_ct", TEXT)
    aliases = EncryptedField[str]("aliases_ct", TEXT)
    date_of_birth = EncryptedField[date]("date_of_birth_ct", DATE)
    place_of_birth = EncryptedField[str]("place_of_birth_ct", TEXT)
    phone = EncryptedField[str]("phone_ct", TEXT)
    email = EncryptedField[str]("email_ct", TEXT)
    address = EncryptedField[str]("address_ct", TEXT)
    languages = EncryptedField[str]("languages_ct", TEXT)
    document_type = EncryptedField[str]("document_type_ct", TEXT)
    document_number = EncryptedField[str]("document_number_ct", TEXT)
    document_country = EncryptedField[str]("document_country_ct", TEXT)

    # -- blind indexes (HMAC) -------------------------------------------------------------
    name_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    name_dob_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    document_bidx: Mapped[str | None] = mapped_column(String(32), index=True)

    # -- coded, plain (for reporting and the anonymised export) ----------------------------
    gender: Mapped[str | None] = mapped_column(String(30))  # GENDERS
    age_at_registration: Mapped[int | None] = mapped_column(Integer)
    citizenship: Mapped[str | None] = mapped_column(String(2), index=True)  # COUNTRIES
    country_of_exploitation: Mapped[str | None] = mapped_column(String(2), index=True)
    year_of_registration: Mapped[int] = mapped_column(Integer, index=True)
    data_source: Mapped[str] = mapped_column(String(20), default="case_management")
    identification_route: Mapped[str | None] = mapped_column(String(40))

    profile: Mapped[TraffickingProfile | None] = relationship(
        back_populates="case", uselist=False, cascade="all, delete-orphan"
    )
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseNote.created_at"
    )
    # Lists eager-load the assignee (joinedload) so a page never runs one query per row.
    assignee: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    owner_organisation: Mapped[Organisation] = relationship(foreign_keys=[owner_org_id])
    linked_case: Mapped[Case | None] = relationship(remote_side="Case.id", foreign_keys=[linked_case_id])

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def full_name(self) -> str:
        """Display name; ERASED-safe (an erased case shows its erased marker)."""
        parts = [self.given_name, self.family_name]
        return " ".join(str(p) for p in parts if p is not None)

    def __repr__(self) -> str:  # never victim data
        return f"<Case {self.reference}>"


# Covering index for scoped counts and aggregates (lists, dashboard): the case rows themselves
# are wide (ciphertext), an index holding the scope and coded columns is not.
Index(
    "ix_cases_scope",
    Case.owner_org_id,
    Case.erased_at,
    Case.opened_on,
    Case.status,
    Case.assigned_to_id,
    Case.id,
)
# A caseworker's own cases (the caseworker scope starts from the assignee), live ones only and
# in list order (opened, then reference; scanned either way): the count reads only this index,
# and a page reads its offset plus one page of entries, instead of walking every case of the
# deployment in date order and dropping the others' (page 20 of 2,000 cases: 12 ms -> 2-3 ms in PostgreSQL).
Index(
    "ix_cases_assignee_list",
    Case.assigned_to_id,
    Case.owner_org_id,
    Case.opened_on,
    Case.reference,
    Case.status,
    Case.id,
    postgresql_where=Case.erased_at.is_(None),
    sqlite_where=Case.erased_at.is_(None),
)


# An organisation's live cases by last change (the supervisor's "recently changed" and "not
# reviewed" on the work list read a few entries, not every case of the organisation).
Index(
    "ix_cases_org_updated",
    Case.owner_org_id,
    Case.updated_at,
    postgresql_where=Case.erased_at.is_(None),
    sqlite_where=Case.erased_at.is_(None),
)


class CaseNameToken(Base):
    """A blind index of one piece of a case's name, for tolerant search (casework.cases.names):
    a whole name token, a prefix of one, or a phonetic key, each an HMAC under the owner
    organisation's blind-index key (domain-separated by kind), never the name itself."""

    __tablename__ = "case_name_tokens"

    bidx: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))  # casework.cases.names.KINDS

    # Only so that a new case is inserted before its tokens (never loaded through it).
    case: Mapped[Case] = relationship(lazy="raise_on_sql")


# A case's tokens, to replace them when the name changes.
Index("ix_case_name_tokens_case_id", CaseNameToken.case_id)


class TraffickingProfile(UuidPrimaryKey, CaseOwned, Base):
    """How the person was trafficked. Codes from vocab (CTDC + HTCDS)."""

    __tablename__ = "trafficking_profiles"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    exploitation_types: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.EXPLOITATION_TYPES))
    labour_sectors: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.LABOUR_SECTORS))
    sexual_exploitation_types: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.SEXUAL_EXPLOITATION_TYPES))
    means_of_control: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.MEANS_OF_CONTROL))
    recruitment_type: Mapped[str | None] = mapped_column(String(40))  # RECRUITMENT_TYPES
    recruiter_relationships: Mapped[frozenset[str] | None] = mapped_column(CodeSet(vocab.RECRUITER_RELATIONSHIPS))
    abducted: Mapped[bool | None] = mapped_column(Boolean)
    age_at_recruitment: Mapped[int | None] = mapped_column(Integer)
    age_at_exploitation_start: Mapped[int | None] = mapped_column(Integer)
    exploitation_began_on: Mapped[date | None] = mapped_column(Date)
    exploitation_ended_on: Mapped[date | None] = mapped_column(Date)
    origin_country: Mapped[str | None] = mapped_column(String(2))
    transit_countries: Mapped[tuple[str, ...] | None] = mapped_column(CodeTuple(vocab.COUNTRIES))
    exploitation_countries: Mapped[tuple[str, ...] | None] = mapped_column(CodeTuple(vocab.COUNTRIES))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    narrative_ct: Mapped[bytes | None] = mapped_column("narrative", LargeBinary)
    narrative = EncryptedField[str]("narrative_ct", TEXT)

    case: Mapped[Case] = relationship(back_populates="profile")


class CaseNote(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "case_notes"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    author_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    # Shareable notes are visible to partners whose referral scope includes shared notes.
    shareable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    body_ct: Mapped[bytes | None] = mapped_column("body", LargeBinary)
    body = EncryptedField[str]("body_ct", TEXT)

    case: Mapped[Case] = relationship(back_populates="notes")


class BreakGlassAccess(UuidPrimaryKey, CaseOwned, Base):
    """A supervisor's time-limited, read-only access to another organisation's case.

    Only granted with a written reason (encrypted under the case's key: the owner organisation
    reads it; erasing the case shreds it), capped per supervisor and day, shown to the owner
    organisation's supervisors, who may end it early (``ended_at``).
    """

    __tablename__ = "break_glass_access"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    reason_ct: Mapped[bytes | None] = mapped_column("reason", LargeBinary)
    reason = EncryptedField[str]("reason_ct", TEXT)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()


class BreakGlassDailyCount(Base):
    """Emergency accesses granted to one supervisor on one day (UTC): the cap is checked and
    counted in one conditional UPDATE, so concurrent requests cannot exceed it."""

    __tablename__ = "break_glass_daily_counts"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grants: Mapped[int] = mapped_column(Integer, default=0)
