"""Encrypting and re-indexing existing rows in a migration, without the ORM (whose models move
on after the migration is written): the same formats as casework.crypto.fields and
casework.crypto.blind_index, on plain column values."""

from __future__ import annotations

import uuid

from casework.crypto.aead import Aead
from casework.crypto.fields import field_ad, new_data_key, unwrap_data_key
from casework.crypto.keyring import Keyring


class RowKeys:
    """Unwrapped data keys of owner rows, each unwrapped once per migration run."""

    def __init__(self, keyring: Keyring, owner_table: str) -> None:
        self.keyring = keyring
        self.owner_table = owner_table
        self._keys: dict[uuid.UUID, Aead] = {}

    def key(self, owner_id: uuid.UUID, wrapped: bytes) -> Aead:
        aead = self._keys.get(owner_id)
        if aead is None:
            aead = self._keys[owner_id] = unwrap_data_key(self.keyring, bytes(wrapped), self.owner_table, owner_id)
        return aead

    def new(self, owner_id: uuid.UUID) -> tuple[bytes, str]:
        """A data key for an owner row that has none yet: (wrapped blob, master key id)."""
        wrapped, key_id, aead = new_data_key(self.keyring, self.owner_table, owner_id)
        self._keys[owner_id] = aead
        return wrapped, key_id


def seal_text(aead: Aead, table: str, column: str, row_id: uuid.UUID, text: str) -> bytes:
    return aead.seal(text.encode("utf-8"), field_ad(table, column, row_id))


def open_text(aead: Aead, table: str, column: str, row_id: uuid.UUID, blob: bytes) -> str:
    return aead.open(bytes(blob), field_ad(table, column, row_id)).decode("utf-8")
