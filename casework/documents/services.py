"""Documents of a case: list, upload, replace, delete, read; shred them with the case.

Services check, change, audit and flush; they never commit (the view commits once). Every
refusal is a :class:`DocumentRefused` raised before anything is kept: chunks already written
for a refused upload are removed with the transaction (casework.documents.store).

Content: the type is decided from the bytes (casework.documents.files), images are re-encoded
without metadata, and the stored file is sealed chunk by chunk with the case's data key, each
chunk bound to the document, its version, its position and whether it is the last
(casework.crypto.chunks). Erasing the case destroys that key; :func:`shred_case` also deletes
the rows and the chunks. Rotating master keys re-wraps the case's key only: no file is touched.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from flask_babel import gettext as _
from sqlalchemy import select

from casework import access, vocab
from casework.access import Permission
from casework.assistance.models import Service
from casework.audit import writer as audit
from casework.cases.models import Case
from casework.consent.models import Consent
from casework.crypto import DecryptionError
from casework.crypto.chunks import open_stream, seal_stream
from casework.db import session, utcnow
from casework.documents import files
from casework.documents.models import Document
from casework.documents.store import CHUNK_BYTES, DocumentStore

log = logging.getLogger(__name__)
MAX_TITLE_CHARS = 200


class DocumentRefused(Exception):
    """The document may not be stored; ``str()`` is for the user, ``field`` the form field it
    belongs next to (None: the form as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DocumentUnreadable(Exception):
    """A stored document does not open: a chunk was altered, moved, reordered or dropped, or
    the case's key is gone."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """What a document is attached to besides its case: a consent or a service (or nothing)."""

    consent_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None

    @property
    def value(self) -> str:
        if self.consent_id is not None:
            return f"consent:{self.consent_id}"
        if self.service_id is not None:
            return f"service:{self.service_id}"
        return ""


# -- loading ---------------------------------------------------------------------------------------
def load_document(
    document_id: uuid.UUID, permission: Permission, *, lock: bool = False
) -> tuple[Document, access.CaseGrant]:
    """One document and the current user's grant on its case (``lock``: its row locked until
    the transaction ends, so that two replacements or a replacement and a deletion of the same
    document take turns instead of leaving a version behind).

    Aborts 404 (audited) when the document does not exist, its case is outside the user's
    scope, or the grant does not show this document (a partner: a kind its referrals do not
    share, or a service of another organisation); 403 when the case is in scope but the
    relation does not allow ``permission`` (access.load_case)."""
    case_id = session.execute(select(Document.case_id).where(Document.id == document_id)).scalar_one_or_none()
    if case_id is None:
        access.refuse("document.load", status=404, reason="not_found")
    grant = access.load_case(case_id, permission)
    query = select(Document).where(Document.id == document_id, access.document_scope(grant))
    if lock:
        query = query.with_for_update(of=Document)
    document = session.execute(query).scalar_one_or_none()
    if document is None:
        access.refuse("document.load", case_id=case_id, status=404, reason="document_scope")
    return document, grant


def documents_for(grant: access.CaseGrant, attachment: Attachment | None = None) -> list[Document]:
    """The documents of the grant's case the user may see, newest first (only those attached
    to one record when ``attachment`` names it)."""
    query = select(Document).where(Document.case_id == grant.case_id, access.document_scope(grant))
    if attachment is not None and attachment.consent_id is not None:
        query = query.where(Document.consent_id == attachment.consent_id)
    elif attachment is not None and attachment.service_id is not None:
        query = query.where(Document.service_id == attachment.service_id)
    return list(session.execute(query.order_by(Document.uploaded_at.desc())).scalars())


def attachment_choices(grant: access.CaseGrant) -> list[tuple[str, str]]:
    """("", the case itself), then the case's consents and services, as form choices."""
    choices = [("", _("The case itself"))]
    consents = session.execute(
        select(Consent).where(Consent.case_id == grant.case_id).order_by(Consent.given_on.desc())
    ).scalars()
    for consent in consents:
        label = _(
            "Consent: %(purpose)s, %(decision)s on %(day)s",
            purpose=vocab.CONSENT_PURPOSES.label(consent.purpose),
            decision=vocab.CONSENT_DECISIONS.label(consent.decision),
            day=consent.given_on.isoformat(),
        )
        choices.append((f"consent:{consent.id}", label))
    services = session.execute(
        select(Service.id, Service.kind, Service.status, Service.created_at)
        .where(Service.case_id == grant.case_id)
        .order_by(Service.created_at.desc())
    ).all()
    for service_id, kind, status, created_at in services:
        label = _(
            "Assistance: %(kind)s (%(status)s), recorded on %(day)s",
            kind=vocab.SERVICE_KINDS.label(kind),
            status=vocab.SERVICE_STATUSES.label(status),
            day=created_at.date().isoformat(),
        )
        choices.append((f"service:{service_id}", label))
    return choices


def parse_attachment(grant: access.CaseGrant, value: str | None) -> Attachment:
    """The attachment a form value names, checked to be a record of the grant's case.
    Raises DocumentRefused."""
    if not value:
        return Attachment()
    kind, _sep, raw_id = value.partition(":")
    try:
        record_id = uuid.UUID(raw_id)
    except ValueError:
        raise DocumentRefused(_("Choose what the document belongs to from the list."), "attach") from None
    model: type[Consent] | type[Service] | None = {"consent": Consent, "service": Service}.get(kind)
    found = None
    if model is not None:
        found = session.execute(
            select(model.id).where(model.id == record_id, model.case_id == grant.case_id)
        ).scalar_one_or_none()
    if found is None:
        raise DocumentRefused(_("Choose what the document belongs to from the list."), "attach")
    return Attachment(consent_id=record_id) if kind == "consent" else Attachment(service_id=record_id)


# -- writing ---------------------------------------------------------------------------------------
def _size_of(source: BinaryIO) -> int | None:
    try:
        source.seek(0, os.SEEK_END)
        size = source.tell()
        source.seek(0)
    except (OSError, AttributeError, ValueError):
        return None
    return size


def _too_large(max_bytes: int) -> DocumentRefused:
    return DocumentRefused(
        _(
            "The file is too large: a document can be at most %(size)s. Scan it at a lower resolution or split it.",
            size=files.human_size(max_bytes),
        ),
        "file",
    )


def _write_content(document: Document, source: BinaryIO, store: DocumentStore, max_bytes: int) -> files.FileType:
    """Check ``source``, then seal and store it as a new version of ``document`` (a new blob).
    Raises DocumentRefused."""
    size = _size_of(source)
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    try:
        kind, content = files.checked(source)
    except files.Refused as error:
        raise DocumentRefused(str(error), "file") from None
    key = document.case.data_key()
    if key is None:
        raise DocumentRefused(_("This case was erased: nothing can be added to it."))
    blob_id = uuid.uuid4()
    stored = count = 0
    for seq, blob, plain_bytes in seal_stream(key, document.id, blob_id, content, CHUNK_BYTES):
        stored += plain_bytes
        if stored > max_bytes:  # a stream that did not tell its size, or a re-encoded image
            raise _too_large(max_bytes)
        store.put_chunk(blob_id, seq, blob)
        count = seq + 1
    document.blob_id, document.chunk_count, document.size = blob_id, count, stored
    document.content_type = kind.content_type
    return kind


def clean_title(title: str | None) -> str:
    """The title, one line. Raises DocumentRefused."""
    from casework.consent.forms import has_control_characters

    title = " ".join((title or "").split())
    if not title:
        raise DocumentRefused(_("Give the document a title."), "title")
    if len(title) > MAX_TITLE_CHARS or has_control_characters(title, multiline=False):
        raise DocumentRefused(_("Keep the title under %(n)d characters of plain text.", n=MAX_TITLE_CHARS), "title")
    return title


def upload(
    grant: access.CaseGrant,
    *,
    kind: str,
    title: str | None,
    source: BinaryIO,
    filename: str | None,
    attachment: Attachment,
    store: DocumentStore,
    max_bytes: int,
) -> Document:
    """Store a new document on the grant's case. Raises DocumentRefused (a kind not in the
    list, no title, a file too large, of a type that may not be stored, or unreadable); aborts
    403 (audited) unless the grant allows DOCUMENT_MANAGE. Chunks written before a refusal go
    with the transaction the view rolls back."""
    grant.require(Permission.DOCUMENT_MANAGE)
    if kind not in vocab.DOCUMENT_KINDS:
        raise DocumentRefused(_("Choose a kind of document from the list."), "kind")
    clean = clean_title(title)
    document = Document(
        case_id=grant.case_id,
        consent_id=attachment.consent_id,
        service_id=attachment.service_id,
        kind=kind,
        content_type="application/octet-stream",
        uploaded_by_id=grant.user.id,
        uploaded_at=utcnow(),
        version=1,
    )
    document.case = grant.case
    session.add(document)
    document.title = clean
    document.filename = files.clean_name(filename) or None
    session.flush()  # the row first: the transaction that owns the chunks has begun
    file_type = _write_content(document, source, store, max_bytes)
    session.flush()
    audit.record(
        "document.upload",
        target=document,
        case_id=grant.case_id,
        details={
            "kind": kind,
            "type": file_type.code,
            "bytes": document.size,
            "chunks": document.chunk_count,
            "attached_to": "consent" if attachment.consent_id else "service" if attachment.service_id else "case",
        },
    )
    return document


def replace(
    grant: access.CaseGrant,
    document: Document,
    *,
    title: str | None,
    source: BinaryIO,
    filename: str | None,
    store: DocumentStore,
    max_bytes: int,
) -> None:
    """Store a new version of ``document``'s file (the old one is deleted once this commits).
    Raises DocumentRefused; aborts 403 unless the grant allows DOCUMENT_MANAGE."""
    grant.require(Permission.DOCUMENT_MANAGE)
    new_title = clean_title(title) if title and title.strip() else None
    old_blob = document.blob_id
    file_type = _write_content(document, source, store, max_bytes)
    if new_title is not None:
        document.title = new_title
    document.filename = files.clean_name(filename) or None
    document.version += 1
    document.replaced_by_id = grant.user.id
    document.replaced_at = utcnow()
    store.delete(old_blob)
    session.flush()
    audit.record(
        "document.replace",
        target=document,
        case_id=grant.case_id,
        details={"kind": document.kind, "type": file_type.code, "bytes": document.size, "version": document.version},
    )


def delete(grant: access.CaseGrant, document: Document, store: DocumentStore) -> None:
    """Delete ``document`` and its file (the file once this commits). Aborts 403 unless the
    grant allows DOCUMENT_MANAGE."""
    grant.require(Permission.DOCUMENT_MANAGE)
    store.delete(document.blob_id)
    audit.record("document.delete", target=document, case_id=grant.case_id, details={"kind": document.kind})
    session.delete(document)
    session.flush()


def shred_case(case: Case, store: DocumentStore) -> int:
    """Erasure: delete every document of ``case`` and its file (the case's key is destroyed by
    the caller, so nothing left anywhere, backups included, can be decrypted). Returns how many;
    raises nothing (the caller, casework.admin.retention, has checked the erasure)."""
    documents = list(session.execute(select(Document).where(Document.case_id == case.id)).scalars())
    for document in documents:
        store.delete(document.blob_id)
        session.delete(document)
    session.flush()
    return len(documents)


# -- reading ---------------------------------------------------------------------------------------
def read(document: Document, grant: access.CaseGrant, store: DocumentStore) -> Iterator[bytes]:
    """The plain file, chunk by chunk. The first chunk is opened before this returns (a file
    whose beginning does not open raises DocumentUnreadable here, before anything is sent); a
    later chunk that does not open ends the stream short of its length (logged): the browser
    reports the download as failed instead of saving a partial file as whole."""
    key = grant.case.data_key()
    if key is None:
        raise DocumentUnreadable("the case's key was destroyed")
    chunks = open_stream(key, document.id, document.blob_id, document.chunk_count, store.iter_chunks(document.blob_id))
    try:
        first = next(chunks)
    except (DecryptionError, StopIteration):
        chunks.close()
        raise DocumentUnreadable("the document's first chunk does not open") from None
    return _rest(first, chunks)


def _rest(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    try:
        yield from chunks
    except DecryptionError:
        log.error("a document stopped streaming: a chunk is altered, moved or missing")


def read_whole(document: Document, grant: access.CaseGrant, store: DocumentStore) -> IO[bytes]:
    """The plain file in a temporary file (spooled to disk past 1 MB), read to its end:
    raises DocumentUnreadable unless every chunk opened."""
    key = grant.case.data_key()
    if key is None:
        raise DocumentUnreadable("the case's key was destroyed")
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=files.SPOOL_BYTES)
    try:
        for data in open_stream(
            key, document.id, document.blob_id, document.chunk_count, store.iter_chunks(document.blob_id)
        ):
            out.write(data)
    except DecryptionError:
        out.close()
        raise DocumentUnreadable("a chunk does not open") from None
    out.seek(0)
    return out


def record_read(action: str, document: Document, grant: access.CaseGrant, **details: Any) -> None:
    """Put a view or download of a document on record (in its own transaction: see
    audit.writer.record_now)."""
    audit.record_now(action, target=document, case_id=grant.case_id, details={"kind": document.kind, **details})
