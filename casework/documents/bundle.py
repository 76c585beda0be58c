"""Subject access with the files: a ZIP holding the JSON record of everything held about the
person (casework.admin.subject_access) and each of their documents, decrypted.

The archive is written as it is sent: entries are stored (PDFs and images are compressed
already), each document is decrypted chunk by chunk into its entry, and what the ZIP writer
produced is handed on after every chunk; no file is ever whole in memory. A document that does
not open ends the archive there (logged): the download fails visibly instead of looking whole.
"""

from __future__ import annotations

import io
import logging
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from casework.cases.models import Case
from casework.crypto import Aead, DecryptionError
from casework.crypto.chunks import open_stream
from casework.db import session
from casework.documents import files
from casework.documents.models import Document
from casework.documents.store import DocumentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """One document of the archive: where its chunks are, and its name in the ZIP."""

    name: str
    document_id: uuid.UUID
    blob_id: uuid.UUID
    chunk_count: int


class _Sink(io.RawIOBase):
    """Collects what the ZIP writer writes until it is taken (an unseekable stream: the writer
    then uses data descriptors, as for a pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def entries(case: Case) -> list[Entry]:
    """The case's documents as archive entries, oldest first (``documents/001-<name>.<ext>``)."""
    rows = session.execute(
        select(Document).where(Document.case_id == case.id).order_by(Document.uploaded_at, Document.id)
    ).scalars()
    found = []
    for number, document in enumerate(rows, start=1):
        file_type = files.TYPES_BY_CONTENT_TYPE.get(document.content_type, files.PDF)
        ascii_name, _unicode_name = files.download_names(document.filename_or_none(), file_type)
        found.append(Entry(f"documents/{number:03d}-{ascii_name}", document.id, document.blob_id, document.chunk_count))
    return found


def stream(record: bytes, items: list[Entry], key: Aead, store: DocumentStore) -> Iterator[bytes]:
    """The ZIP, piece by piece: ``subject-access.json`` first, then each document."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("subject-access.json", record)
        yield sink.take()
        for item in items:
            with archive.open(item.name, mode="w", force_zip64=True) as entry:
                chunks = open_stream(
                    key, item.document_id, item.blob_id, item.chunk_count, store.iter_chunks(item.blob_id)
                )
                try:
                    for plain in chunks:
                        entry.write(plain)
                        yield sink.take()
                except DecryptionError:
                    log.error("a subject-access archive stopped: a document's chunk is altered, moved or missing")
                    return
            yield sink.take()
    yield sink.take()
