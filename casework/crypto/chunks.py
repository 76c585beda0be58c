"""Large values stored as a sequence of encrypted chunks (research export files).

Each chunk is sealed with the owner row's data key (:class:`casework.crypto.DataKeyOwner`)
and associated data binding it to its table, row, position and whether it is the last one:
a chunk moved to another place or file, a chunk dropped from the end, or chunks reordered all
fail to open, so a stored file is read back whole and in order, or not at all.
"""

from __future__ import annotations

import uuid

from casework.crypto.aead import Aead


def chunk_ad(table: str, row_id: uuid.UUID, seq: int, last: bool) -> bytes:
    """``casework|chunk|<table>|<row id>|<seq>|<last>`` in UTF-8."""
    return f"casework|chunk|{table}|{row_id}|{seq}|{int(last)}".encode()


def seal_chunk(key: Aead, table: str, row_id: uuid.UUID, seq: int, last: bool, plaintext: bytes) -> bytes:
    return key.seal(plaintext, chunk_ad(table, row_id, seq, last))


def open_chunk(key: Aead, table: str, row_id: uuid.UUID, seq: int, last: bool, blob: bytes) -> bytes:
    """Raises DecryptionError when the chunk is not this row's ``seq``-th (and last, or not)."""
    return key.open(blob, chunk_ad(table, row_id, seq, last))
