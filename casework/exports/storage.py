"""Where research export files wait for download: in the database, so that every host of a
deployment serves them (a file on the disk of the host that made it was a 404 on the others).

Each file (:class:`ExportFile`, one per export run) has its own random data key, wrapped by
the keyring's master key like a case's (:class:`casework.crypto.DataKeyOwner`), and is stored
as numbered chunks of at most :data:`CHUNK_BYTES`, each sealed to its place
(:mod:`casework.crypto.chunks`). Writing and reading go chunk by chunk: no whole file is ever
in memory. A file expires :data:`FILE_LIFETIME` after it was made; expired files are refused
at once and deleted by :func:`purge_expired` (``flask exports-storage purge``, hourly from the
casework-purge.timer unit, and on every new export).

Services flush and never commit.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import Response
from flask.cli import with_appcontext
from sqlalchemy import Engine, ForeignKey, Integer, LargeBinary, String, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from casework.crypto import Aead, CryptoError, DataKeyOwner
from casework.crypto.chunks import open_chunk, seal_chunk
from casework.db import Base, get_db, session, utcnow

log = logging.getLogger(__name__)

CHUNK_BYTES = 512 * 1024
FILE_LIFETIME = timedelta(hours=24)


class ExportFile(DataKeyOwner, Base):
    """The stored file of one export run: its data key (wrapped), size, checksum and expiry."""

    __tablename__ = "export_files"

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("export_runs.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of the plain file
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))


class ExportChunk(Base):
    """One encrypted chunk of an export file (``seq`` from 0)."""

    __tablename__ = "export_chunks"

    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("export_files.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


TABLE = ExportFile.__tablename__


# -- writing ---------------------------------------------------------------------------------------
def store(run_id: uuid.UUID, texts: Iterable[str], now: datetime | None = None) -> tuple[str, int]:
    """Encrypt the UTF-8 of ``texts`` into the stored file of run ``run_id``, chunk by chunk;
    returns (sha256, bytes) of the plain file. A chunk is written once the next byte is known
    to exist, so the last one is always marked as last (an empty file is one empty chunk)."""
    now = now or utcnow()
    stored = ExportFile(id=run_id, created_at=now, expires_at=now + FILE_LIFETIME)
    key = stored.data_key()  # a new row: its key is created here
    if key is None:
        raise RuntimeError("a new export file has no data key")
    session.add(stored)
    session.flush()
    digest = hashlib.sha256()
    size = 0
    seq = 0
    pending = bytearray()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(data)
        size += len(data)
        pending += data
        while len(pending) > CHUNK_BYTES:
            _write_chunk(key, run_id, seq, False, bytes(pending[:CHUNK_BYTES]))
            del pending[:CHUNK_BYTES]
            seq += 1
    _write_chunk(key, run_id, seq, True, bytes(pending))
    stored.size, stored.chunks, stored.sha256 = size, seq + 1, digest.hexdigest()
    session.flush()
    return digest.hexdigest(), size


def _write_chunk(key: Aead, file_id: uuid.UUID, seq: int, last: bool, plaintext: bytes) -> None:
    # Core insert: no ORM object stays in the session, so memory holds one chunk at a time.
    blob = seal_chunk(key, TABLE, file_id, seq, last, plaintext)
    session.execute(insert(ExportChunk.__table__).values(file_id=file_id, seq=seq, data=blob))


# -- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredExport:
    """An unexpired stored file, its key unwrapped, ready to be read chunk by chunk."""

    file_id: uuid.UUID
    chunks: int
    size: int
    sha256: str
    key: Aead

    def read_chunk(self, connection_or_session: object, seq: int) -> bytes:
        """The plain ``seq``-th chunk. Raises LookupError when it is missing, altered or moved."""
        blob = connection_or_session.execute(  # type: ignore[attr-defined]
            select(ExportChunk.data).where(ExportChunk.file_id == self.file_id, ExportChunk.seq == seq)
        ).scalar_one_or_none()
        if blob is None:
            raise LookupError(f"export chunk {seq} is missing")
        try:
            return open_chunk(self.key, TABLE, self.file_id, seq, seq == self.chunks - 1, blob)
        except CryptoError:
            raise LookupError(f"export chunk {seq} does not open (altered or moved)") from None


def find(run_id: uuid.UUID, now: datetime | None = None) -> StoredExport | None:
    """The stored file of a run when it exists, has not expired and its key unwraps; else None."""
    stored = session.get(ExportFile, run_id)
    if stored is None or stored.sha256 is None or stored.expires_at <= (now or utcnow()):
        return None
    try:
        key = stored.data_key()
    except CryptoError:
        # A master key retired while the file still needed it: the file is lost, not a 500.
        log.warning("an export file's data key does not unwrap")
        return None
    if key is None:
        return None
    return StoredExport(stored.id, stored.chunks, stored.size, stored.sha256, key)


def head_text(stored: StoredExport, max_bytes: int = 64 * 1024) -> str:
    """The beginning of the file (whole chunks, up to about ``max_bytes``) as text, for a
    preview. Raises LookupError when a chunk does not open."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts: list[str] = []
    taken = 0
    for seq in range(stored.chunks):
        data = stored.read_chunk(session, seq)
        taken += len(data)
        parts.append(decoder.decode(data, final=seq == stored.chunks - 1))
        if taken >= max_bytes:
            break
    return "".join(parts)


def preview(run_id: uuid.UUID, rows: int) -> list[list[str]] | None:
    """The header and first ``rows`` complete rows of a stored CSV, or None when unavailable."""
    stored = find(run_id)
    if stored is None:
        return None
    try:
        text = head_text(stored)
    except LookupError:
        return None
    if len(text.encode("utf-8")) < stored.size:
        text = text[: text.rfind("\n") + 1]  # only complete lines
    out: list[list[str]] = []
    for row in csv.reader(io.StringIO(text, newline="")):
        out.append(row)
        if len(out) > rows:
            break
    return out


def stream(stored: StoredExport, engine: Engine, first: bytes) -> Iterator[bytes]:
    """The file's chunks in order, ``first`` (chunk 0, already read and checked) first. Each
    chunk is read by its own query on a connection of its own (the request's session is over
    by then). A chunk that does not open stops the stream short of the announced length: the
    browser reports the download as failed rather than saving a truncated file as complete."""
    digest = hashlib.sha256(first)
    yield first
    if stored.chunks == 1:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for seq in range(1, stored.chunks):
            try:
                data = stored.read_chunk(connection, seq)
            except LookupError:
                log.error("an export file stopped at chunk %d: the chunk is missing or does not open", seq)
                return
            digest.update(data)
            yield data
    if digest.hexdigest() != stored.sha256:  # unreachable unless the sealing itself is broken
        log.error("an export file's checksum does not match after streaming")


def response(stored: StoredExport, download_name: str) -> Response:
    """The download: chunk 0 is read and checked before anything is sent (a file whose
    beginning does not open is a 404, raised here as LookupError), the rest is streamed."""
    first = stored.read_chunk(session, 0)
    engine = get_db().engine
    answer = Response(stream(stored, engine, first), mimetype="text/csv", direct_passthrough=True)
    answer.headers["Content-Length"] = str(stored.size)
    answer.headers.set("Content-Disposition", "attachment", filename=download_name)
    answer.headers["Cache-Control"] = "no-store"
    return answer


# -- expiry ----------------------------------------------------------------------------------------
def purge_expired(now: datetime | None = None) -> int:
    """Delete every expired file and its chunks; returns how many files."""
    expired = list(session.execute(select(ExportFile.id).where(ExportFile.expires_at <= (now or utcnow()))).scalars())
    if expired:
        session.execute(delete(ExportChunk).where(ExportChunk.file_id.in_(expired)))
        session.execute(delete(ExportFile).where(ExportFile.id.in_(expired)))
        session.flush()
    return len(expired)


@click.group("exports-storage", help="Stored export files: purge the expired ones.")
def storage_cli() -> None:
    pass


@storage_cli.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete expired export files from the database (casework-purge.timer runs this hourly)."""
    removed = purge_expired()
    session.commit()
    click.echo(f"{removed} expired export file{'s' if removed != 1 else ''} deleted")
