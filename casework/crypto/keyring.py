"""The keyring: master keys (key-encryption keys), the blind-index key and the audit key.

It lives in a file outside the database and outside source control (``CASEWORK_KEYRING``),
one copy on each application host. Every master key in the file unwraps; which one wraps new
data keys is the deployment's decision, kept in the database (casework.crypto.state), never
the file's: a host whose file is newer or older than the others cannot wrap under a key they
lack. A running process re-reads the file when its content changes (casework.crypto.watch).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app

from casework.crypto.aead import Aead, random_key
from casework.crypto.errors import KeyringError, UnknownKeyError

log = logging.getLogger(__name__)
KEYRING_VERSION = 1
#: A process lacking a key re-reads its file at most this often on the read path (a host with a
#: stale file answers 503 on such cases; it must not read the file on every request).
RELOAD_MIN_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    key: bytes
    created_at: str


class _Masters:
    """One immutable generation of the master keys; a reload swaps the whole object, so a
    thread never sees half of one file and half of another."""

    __slots__ = ("keys", "order", "aeads", "digest")

    def __init__(self, master_keys: list[MasterKey], digest: bytes = b"") -> None:
        self.keys = {mk.key_id: mk for mk in master_keys}
        self.order = tuple(mk.key_id for mk in master_keys)
        self.aeads: dict[str, Aead] = {}
        self.digest = digest


class Keyring:
    """Master keys by id plus the two HMAC keys. Never logged, never stored in the database."""

    def __init__(self, master_keys: list[MasterKey], blind_index_key: bytes, audit_key: bytes) -> None:
        if not master_keys:
            raise KeyringError("the keyring holds no master key")
        if len({mk.key_id for mk in master_keys}) != len(master_keys):
            raise KeyringError("the keyring holds two master keys with the same id")
        if len(blind_index_key) < 32 or len(audit_key) < 32:
            raise KeyringError("blind-index and audit keys must be at least 32 bytes")
        self._masters = _Masters(master_keys)
        self.blind_index_key = blind_index_key
        self.audit_key = audit_key
        self.source: Path | None = None
        self._reload_lock = threading.Lock()
        self._last_reload = 0.0

    # -- construction and persistence ---------------------------------------------------
    @classmethod
    def generate(cls) -> Keyring:
        return cls([_new_master_key()], secrets.token_bytes(32), secrets.token_bytes(32))

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a keyring file. Raises KeyringError if it is missing or malformed."""
        raw = _read(Path(path))
        masters, blind_index_key, audit_key = _parse(raw, path)
        keyring = cls(masters, blind_index_key, audit_key)
        keyring._masters.digest = hashlib.sha256(raw).digest()
        keyring.source = Path(path)
        return keyring

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Write atomically with owner-only permissions (``extra``: more top-level fields,
        e.g. an archive's note of what it is kept for)."""
        path = Path(path)
        masters = self._masters
        data: dict[str, Any] = {
            "version": KEYRING_VERSION,
            "master_keys": [
                {"id": mk.key_id, "key": base64.b64encode(mk.key).decode(), "created_at": mk.created_at}
                for mk in (masters.keys[k] for k in masters.order)
            ],
            "blind_index_key": base64.b64encode(self.blind_index_key).decode(),
            "audit_key": base64.b64encode(self.audit_key).decode(),
            **(extra or {}),
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
    def key_ids(self) -> list[str]:
        """Every master key id in the file, oldest first."""
        return list(self._masters.order)

    @property
    def newest_key_id(self) -> str:
        """The key added last. Only the first start of a deployment takes it as the active key
        (casework.crypto.state.bootstrap); after that the database says which key wraps."""
        return self._masters.order[-1]

    def holds(self, key_id: str) -> bool:
        return key_id in self._masters.keys

    def master(self, key_id: str) -> Aead:
        """The AEAD of a master key. A key this process lacks makes it re-read its file first
        (another host's rotation); raises UnknownKeyError if the file still lacks it."""
        masters = self._masters
        aead = masters.aeads.get(key_id)
        if aead is not None:
            return aead
        mk = masters.keys.get(key_id)
        if mk is None:
            try:
                self.reload(min_interval=RELOAD_MIN_INTERVAL_SECONDS)
            except KeyringError as exc:
                log.error("keyring file could not be re-read: %s", exc)
            masters = self._masters
            mk = masters.keys.get(key_id)
            if mk is None:
                raise UnknownKeyError(f"master key {key_id!r} is not in this host's keyring")
        aead = masters.aeads[key_id] = Aead(key_id.encode(), mk.key)
        return aead

    def reload(self, min_interval: float = 0.0) -> bool:
        """Re-read the file and take its master keys if its content changed (compared by
        content, not mtime: ``cp -p``, ``rsync -a`` and restores keep the mtime). Returns True
        when the keys changed. Raises KeyringError on an unreadable or malformed file, or one
        whose blind-index or audit key differs (another deployment's): the keys in memory stay.
        """
        if self.source is None:
            return False
        with self._reload_lock:
            now = time.monotonic()
            if min_interval and now - self._last_reload < min_interval:
                return False
            self._last_reload = now
            raw = _read(self.source)
            digest = hashlib.sha256(raw).digest()
            if digest == self._masters.digest:
                return False
            masters, blind_index_key, audit_key = _parse(raw, self.source)
            if blind_index_key != self.blind_index_key or audit_key != self.audit_key:
                raise KeyringError("the keyring file changed its blind-index or audit key; refusing to reload")
            fresh = Keyring(masters, blind_index_key, audit_key)._masters
            fresh.digest = digest
            before = set(self._masters.order)
            self._masters = fresh
        added, removed = set(fresh.order) - before, before - set(fresh.order)
        if added or removed:
            log.info(
                "keyring file re-read: master keys added %s, removed %s",
                sorted(added) or "none",
                sorted(removed) or "none",
            )
        return True

    def add_master_key(self) -> str:
        """Add a new master key to this copy (save it to write the file). Returns its id."""
        mk = _new_master_key()
        while self.holds(mk.key_id):
            mk = _new_master_key()
        masters = self._masters
        self._masters = _Masters([*(masters.keys[k] for k in masters.order), mk])
        return mk.key_id

    def remove(self, key_id: str) -> None:
        """Remove a master key from this copy (save it to write the file). Callers first check
        that the deployment no longer needs it (casework.crypto.rotation.retire)."""
        masters = self._masters
        if key_id not in masters.keys:
            raise UnknownKeyError(f"master key {key_id!r} is not in the keyring")
        if len(masters.order) == 1:
            raise KeyringError("cannot remove the only master key")
        self._masters = _Masters([masters.keys[k] for k in masters.order if k != key_id])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyringError(f"no keyring file at {path}") from None
    except OSError as exc:
        raise KeyringError(f"keyring file {path} cannot be read: {type(exc).__name__}") from None


def _parse(raw: bytes, path: Path) -> tuple[list[MasterKey], bytes, bytes]:
    try:
        data = json.loads(raw)
        if data.get("version") != KEYRING_VERSION:
            raise KeyringError(f"unsupported keyring version in {path}")
        masters = [MasterKey(m["id"], _b64(m["key"]), m["created_at"]) for m in data["master_keys"]]
        if not masters:
            raise KeyringError(f"the keyring file {path} holds no master key")
        return masters, _b64(data["blind_index_key"]), _b64(data["audit_key"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyringError(f"malformed keyring file {path}: {type(exc).__name__}") from None


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
    Keyring.generate().save(path)
    keyring = Keyring.load(path)
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
