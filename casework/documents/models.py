"""A case's documents: scans, signed forms, reports, photos.

A :class:`Document` belongs to its case and may also be attached to one record of it: a consent
(the signed form) or a service (assistance). The attachment is one nullable foreign key per
kind of record, at most one set (a check constraint): an assessment link is one more column.
Its title and original file name are encrypted under the case's data key like any free text;
its content is stored elsewhere (casework.documents.store) as chunks sealed with the same key
(casework.crypto.chunks), under a ``blob_id`` that changes when the file is replaced.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow


class Document(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "documents"
    __table_args__ = (CheckConstraint("consent_id IS NULL OR service_id IS NULL", name="one_owner_record"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    consent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # DOCUMENT_KINDS
    # What the content was found to be (never the name or the browser's word): FILE_TYPES.
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of the stored (cleaned) file
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    blob_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    replaced_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    title_ct: Mapped[bytes | None] = mapped_column("title", LargeBinary)
    title = EncryptedField[str]("title_ct", TEXT)
    filename_ct: Mapped[bytes | None] = mapped_column("filename", LargeBinary)
    filename = EncryptedField[str]("filename_ct", TEXT)

    case: Mapped[Case] = relationship()

    def filename_or_none(self) -> str | None:
        """The original file name, or None once the case's key is gone."""
        name = self.filename
        return name if isinstance(name, str) else None

    def __repr__(self) -> str:  # never the title
        return f"<Document {self.id} {self.kind}>"


class DocumentChunk(Base):
    """One sealed chunk of a stored document version (the database store)."""

    __tablename__ = "document_chunks"

    blob_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
