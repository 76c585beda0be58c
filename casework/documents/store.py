"""Where the sealed chunks of documents are kept: one small interface, two stores.

- :class:`FileStore` (the embedded default): one directory per stored version under the
  instance folder, one file per chunk.
- :class:`DatabaseStore`: a table (``document_chunks``), so that every host of a deployment
  reads what any of them wrote (PostgreSQL).

``CASEWORK_DOCUMENT_STORE`` chooses (``auto``: the database on PostgreSQL, files otherwise).
Both hold ciphertext only (casework.crypto.chunks). Writes follow the request's transaction:
the database store's rows commit or roll back with it; the file store removes the files a
transaction wrote when it does not commit, and removes deleted versions only once it has
committed (:func:`_after_commit`, :func:`_after_transaction_end`): nothing half-saved, and no
document row left pointing at deleted chunks.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import Engine, delete, event, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from casework.db import get_db, session
from casework.documents.models import DocumentChunk

#: Plain bytes per chunk (the last one may be shorter).
CHUNK_BYTES = 512 * 1024
_WRITTEN = "casework_document_blobs_written"
_DOOMED = "casework_document_blobs_doomed"


class DocumentStore(Protocol):
    """Sealed chunks by (blob id, position)."""

    def put_chunk(self, blob_id: uuid.UUID, seq: int, data: bytes) -> None:
        """Store one sealed chunk, in the request's transaction."""

    def iter_chunks(self, blob_id: uuid.UUID) -> Iterator[bytes]:
        """The sealed chunks of ``blob_id`` in order, one at a time, outside the request's
        transaction (a download streams after the view returned)."""

    def delete(self, blob_id: uuid.UUID) -> None:
        """Remove every chunk of ``blob_id`` once the request's transaction commits."""


class DatabaseStore:
    """Chunks in the ``document_chunks`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_chunk(self, blob_id: uuid.UUID, seq: int, data: bytes) -> None:
        # Core insert: no ORM object stays in the session, so memory holds one chunk at a time.
        session.execute(insert(DocumentChunk.__table__).values(blob_id=blob_id, seq=seq, data=data))

    def iter_chunks(self, blob_id: uuid.UUID) -> Iterator[bytes]:
        # One query per chunk on a connection of its own: one chunk in memory at a time.
        with self.engine.connect() as connection:
            seq = 0
            while True:
                data = connection.execute(
                    select(DocumentChunk.data).where(DocumentChunk.blob_id == blob_id, DocumentChunk.seq == seq)
                ).scalar_one_or_none()
                if data is None:
                    return
                yield data
                seq += 1

    def delete(self, blob_id: uuid.UUID) -> None:
        session.execute(delete(DocumentChunk).where(DocumentChunk.blob_id == blob_id))


class FileStore:
    """Chunks as files: ``<root>/<first two hex digits>/<blob id>/<seq>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, blob_id: uuid.UUID) -> Path:
        return self.root / blob_id.hex[:2] / blob_id.hex

    def put_chunk(self, blob_id: uuid.UUID, seq: int, data: bytes) -> None:
        directory = self._dir(blob_id)
        if seq == 0:
            directory.mkdir(mode=0o700, parents=True, exist_ok=False)
            _pending(session, _WRITTEN).append((self, blob_id))
        fd = os.open(directory / f"{seq:08d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

    def iter_chunks(self, blob_id: uuid.UUID) -> Iterator[bytes]:
        directory = self._dir(blob_id)
        seq = 0
        while True:
            try:
                data = (directory / f"{seq:08d}").read_bytes()
            except FileNotFoundError:
                return
            yield data
            seq += 1

    def delete(self, blob_id: uuid.UUID) -> None:
        _pending(session, _DOOMED).append((self, blob_id))

    def remove_now(self, blob_id: uuid.UUID) -> None:
        shutil.rmtree(self._dir(blob_id), ignore_errors=True)


def _pending(db: Session, key: str) -> list[tuple[FileStore, uuid.UUID]]:
    """The request transaction's list of written (or doomed) versions; the transaction is begun
    here if need be, so that its end always settles the list."""
    db.connection()
    return db.info.setdefault(key, [])  # type: ignore[no-any-return]


@event.listens_for(Session, "after_commit")
def _after_commit(db: Session) -> None:
    """The transaction committed: the versions it wrote are kept, the ones it deleted go."""
    db.info.pop(_WRITTEN, None)
    for store, blob_id in db.info.pop(_DOOMED, []):
        store.remove_now(blob_id)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(db: Session, transaction: SessionTransaction) -> None:
    """The transaction ended without committing: what it wrote goes, what it deleted stays."""
    if transaction.parent is not None:
        return
    for store, blob_id in db.info.pop(_WRITTEN, []):
        store.remove_now(blob_id)
    db.info.pop(_DOOMED, None)


def store_for(app: Any = None) -> DocumentStore:
    """The deployment's store (``CASEWORK_DOCUMENT_STORE``)."""
    app = app or current_app
    config = app.config["CASEWORK"]
    choice = config.document_store
    database = get_db(app)
    if choice == "auto":
        choice = "files" if database.is_sqlite else "database"
    if choice == "database":
        return DatabaseStore(database.engine)
    return FileStore(Path(config.instance_path) / "documents")
