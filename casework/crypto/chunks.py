"""Large values stored as a sequence of encrypted chunks (research export files, case documents).

Each chunk is sealed with the owner row's data key (:class:`casework.crypto.DataKeyOwner`)
and associated data binding it to its table, row, position and whether it is the last one:
a chunk moved to another place or file, a chunk dropped from the end, or chunks reordered all
fail to open, so a stored file is read back whole and in order, or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from casework.crypto.aead import Aead
from casework.crypto.errors import DecryptionError


def chunk_ad(table: str, row_id: uuid.UUID, seq: int, last: bool) -> bytes:
    """``casework|chunk|<table>|<row id>|<seq>|<last>`` in UTF-8."""
    return f"casework|chunk|{table}|{row_id}|{seq}|{int(last)}".encode()


def seal_chunk(key: Aead, table: str, row_id: uuid.UUID, seq: int, last: bool, plaintext: bytes) -> bytes:
    return key.seal(plaintext, chunk_ad(table, row_id, seq, last))


def open_chunk(key: Aead, table: str, row_id: uuid.UUID, seq: int, last: bool, blob: bytes) -> bytes:
    """Raises DecryptionError when the chunk is not this row's ``seq``-th (and last, or not)."""
    return key.open(blob, chunk_ad(table, row_id, seq, last))


# -- streams of chunks (case documents) -------------------------------------------------------------
def document_chunk_ad(document_id: uuid.UUID, blob_id: uuid.UUID, seq: int, last: bool) -> bytes:
    """``casework|document-chunk|<document id>|<blob id>|<seq>|<last>`` in UTF-8: a chunk of one
    stored version (``blob_id``) of one document, at one position, last or not."""
    return f"casework|document-chunk|{document_id}|{blob_id}|{seq}|{int(last)}".encode()


def seal_stream(
    key: Aead, document_id: uuid.UUID, blob_id: uuid.UUID, source: BinaryIO, chunk_bytes: int
) -> Iterator[tuple[int, bytes, int]]:
    """Read ``source`` ``chunk_bytes`` at a time and yield ``(seq, sealed chunk, plain bytes)``.

    One chunk of look-ahead marks the final chunk as last (an empty source is one empty final
    chunk), so at most two plain chunks are in memory whatever the size of the stream."""
    current = source.read(chunk_bytes)
    seq = 0
    while True:
        following = source.read(chunk_bytes) if len(current) == chunk_bytes else b""
        last = not following
        yield seq, key.seal(current, document_chunk_ad(document_id, blob_id, seq, last)), len(current)
        if last:
            return
        current = following
        seq += 1


def open_stream(
    key: Aead, document_id: uuid.UUID, blob_id: uuid.UUID, chunk_count: int, blobs: Iterable[bytes]
) -> Iterator[bytes]:
    """The plain chunks of ``blobs``, in order. Raises DecryptionError as soon as a chunk was
    altered, moved from another document or place, or is missing, or when a chunk follows the
    last one: a stream is read whole and in order, or not at all (its beginning may already
    have been yielded; callers that must not send a partial file read it to the end first)."""
    seq = -1
    for seq, blob in enumerate(blobs):
        if seq >= chunk_count:
            raise DecryptionError("a document has more chunks than recorded")
        yield key.open(blob, document_chunk_ad(document_id, blob_id, seq, seq == chunk_count - 1))
    if seq != chunk_count - 1:
        raise DecryptionError("a document is missing chunks (truncated)")
