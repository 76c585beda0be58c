"""The keyring: master keys (key-encryption keys), the blind-index key and the audit key.

It lives in a file outside the database and outside source control (``CASEWORK_KEYRING``).
The newest active master key wraps new data keys; every master key still in the file unwraps.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app

from casework.crypto.aead import Aead, random_key
from casework.crypto.errors import KeyringError, UnknownKeyError

log = logging.getLogger(__name__)
KEYRING_VERSION = 1


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    key: bytes
    created_at: str
    retired: bool = False


class Keyring:
    """Master keys by id plus the two HMAC keys. Never logged, never stored in the database."""

    def __init__(self, master_keys: list[MasterKey], blind_index_key: bytes, audit_key: bytes) -> None:
        if not master_keys:
            raise KeyringError("the keyring holds no master key")
        if len(blind_index_key) < 32 or len(audit_key) < 32:
            raise KeyringError("blind-index and audit keys must be at least 32 bytes")
        self._keys = {mk.key_id: mk for mk in master_keys}
        self._order = [mk.key_id for mk in master_keys]
        self._aeads: dict[str, Aead] = {}
        self.blind_index_key = blind_index_key
        self.audit_key = audit_key
        self.source: Path | None = None
        self._source_mtime = 0.0

    # -- construction and persistence ---------------------------------------------------
    @classmethod
    def generate(cls) -> Keyring:
        return cls([_new_master_key()], secrets.token_bytes(32), secrets.token_bytes(32))

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a keyring file. Raises KeyringError if it is missing or malformed."""
        try:
            data = json.loads(Path(path).read_text())
            if data.get("version") != KEYRING_VERSION:
                raise KeyringError(f"unsupported keyring version in {path}")
            masters = [
                MasterKey(m["id"], _b64(m["key"]), m["created_at"], bool(m.get("retired", False)))
                for m in data["master_keys"]
            ]
            keyring = cls(masters, _b64(data["blind_index_key"]), _b64(data["audit_key"]))
            keyring.source = Path(path)
            keyring._source_mtime = Path(path).stat().st_mtime
            return keyring
        except FileNotFoundError:
            raise KeyringError(f"no keyring file at {path}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"malformed keyring file {path}: {type(exc).__name__}") from None

    def save(self, path: Path) -> None:
        """Write atomically with owner-only permissions."""
        path = Path(path)
        data: dict[str, Any] = {
            "version": KEYRING_VERSION,
            "master_keys": [
                {
                    "id": mk.key_id,
                    "key": base64.b64encode(mk.key).decode(),
                    "created_at": mk.created_at,
                    "retired": mk.retired,
                }
                for mk in (self._keys[k] for k in self._order)
            ],
            "blind_index_key": base64.b64encode(self.blind_index_key).decode(),
            "audit_key": base64.b64encode(self.audit_key).decode(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    # -- use ------------------------------------------------------------------------------
    @property
    def current_key_id(self) -> str:
        """The newest active master key: it wraps every new data key."""
        for key_id in reversed(self._order):
            if not self._keys[key_id].retired:
                return key_id
        raise KeyringError("every master key is retired")

    @property
    def key_ids(self) -> list[str]:
        return list(self._order)

    def master(self, key_id: str | None = None) -> Aead:
        """The AEAD of a master key (the current one by default). Raises UnknownKeyError."""
        key_id = key_id or self.current_key_id
        aead = self._aeads.get(key_id)
        if aead is None:
            mk = self._keys.get(key_id)
            if mk is None and self.reload_if_changed():
                mk = self._keys.get(key_id)
            if mk is None:
                raise UnknownKeyError(f"master key {key_id!r} is not in the keyring")
            aead = self._aeads[key_id] = Aead(key_id.encode(), mk.key)
        return aead

    def reload_if_changed(self) -> bool:
        """Pick up a rotation done by another process (``keys rotate``): running workers then
        unwrap data keys re-wrapped under the new master key without a restart."""
        if self.source is None:
            return False
        try:
            mtime = self.source.stat().st_mtime
        except OSError:
            return False
        if mtime == self._source_mtime:
            return False
        fresh = Keyring.load(self.source)
        if fresh.blind_index_key != self.blind_index_key or fresh.audit_key != self.audit_key:
            raise KeyringError("the keyring file changed its blind-index or audit key; refusing to reload")
        self._keys, self._order, self._aeads = fresh._keys, fresh._order, {}
        self._source_mtime = mtime
        return True

    def add_master_key(self) -> str:
        """Add a new master key; it becomes current. Returns its id."""
        mk = _new_master_key()
        while mk.key_id in self._keys:
            mk = _new_master_key()
        self._keys[mk.key_id] = mk
        self._order.append(mk.key_id)
        return mk.key_id

    def retire(self, key_id: str) -> None:
        """Remove a master key for good. Callers first check that no data key still uses it."""
        if key_id not in self._keys:
            raise UnknownKeyError(f"master key {key_id!r} is not in the keyring")
        if len(self._order) == 1:
            raise KeyringError("cannot retire the only master key")
        del self._keys[key_id]
        self._order.remove(key_id)
        self._aeads.pop(key_id, None)


def _new_master_key() -> MasterKey:
    now = datetime.now(UTC)
    key_id = f"mk-{now:%Y%m%d}-{secrets.token_hex(3)}"
    return MasterKey(key_id, random_key(), now.isoformat(timespec="seconds"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value.encode(), validate=True)


def load_or_create(path: Path, create: bool) -> Keyring:
    """Load the keyring; in development create one on first run, with a loud warning."""
    if Path(path).exists() or not create:
        return Keyring.load(path)
    keyring = Keyring.generate()
    keyring.save(path)
    sys.stderr.write(
        f"\n*** DEVELOPMENT KEYRING CREATED at {path} — not for real victims' data: see README 'Configuration' ***\n\n"
    )
    log.warning(
        "=" * 72 + "\nDEVELOPMENT KEYRING CREATED at %s.\nIt encrypts every victim's data: "
        "lose it and the data is gone, leak it and the data is exposed.\nIn production create "
        "one with `flask --app wsgi keys init`, keep it outside the database\nand its backups, "
        "and set CASEWORK_KEYRING.\n" + "=" * 72,
        path,
    )
    return keyring


def init_app(app: Flask, keyring: Keyring) -> None:
    app.extensions["casework.keyring"] = keyring


def get_keyring() -> Keyring:
    return cast(Keyring, current_app.extensions["casework.keyring"])
