"""Encrypting and re-indexing existing rows in a migration, without the ORM (whose models move
on after the migration is written): the same formats as casework.crypto.fields and
casework.crypto.blind_index, on plain column values."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from casework.crypto.aead import Aead
from casework.crypto.fields import field_ad, new_data_key, unwrap_data_key
from casework.crypto.keyring import Keyring


class RowKeys:
    """Unwrapped data keys of owner rows, each unwrapped once per migration run."""

    def __init__(self, keyring: Keyring, owner_table: str, bind: Any = None) -> None:
        self.keyring = keyring
        self.owner_table = owner_table
        self.bind = bind
        self._keys: dict[uuid.UUID, Aead] = {}
        self._master_key_id: str | None = None

    def key(self, owner_id: uuid.UUID, wrapped: bytes) -> Aead:
        aead = self._keys.get(owner_id)
        if aead is None:
            aead = self._keys[owner_id] = unwrap_data_key(self.keyring, bytes(wrapped), self.owner_table, owner_id)
        return aead

    def new(self, owner_id: uuid.UUID) -> tuple[bytes, str]:
        """A data key for an owner row that has none yet: (wrapped blob, master key id).

        Wrapped under the deployment's active master key (``keyring_state``), or, before any
        state is recorded, the keyring's newest key: the one the first start records as active.
        Raises UnknownKeyError when this keyring lacks the active key."""
        wrapped, key_id, aead = new_data_key(self.keyring, self.owner_table, owner_id, self._active_key_id())
        self._keys[owner_id] = aead
        return wrapped, key_id

    def _active_key_id(self) -> str:
        if self._master_key_id is None:
            active = None
            if self.bind is not None:
                active = self.bind.execute(text("SELECT active_key_id FROM keyring_state WHERE id = 1")).scalar()
            self._master_key_id = str(active or self.keyring.newest_key_id)
        return self._master_key_id


def seal_text(aead: Aead, table: str, column: str, row_id: uuid.UUID, text: str) -> bytes:
    return aead.seal(text.encode("utf-8"), field_ad(table, column, row_id))


def open_text(aead: Aead, table: str, column: str, row_id: uuid.UUID, blob: bytes) -> str:
    return aead.open(bytes(blob), field_ad(table, column, row_id)).decode("utf-8")
