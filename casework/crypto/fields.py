"""Envelope encryption of model fields.

Each :class:`DataKeyOwner` row (a case, a user) holds its own random AES-256-GCM data key,
stored wrapped by the deployment's active master key (casework.crypto.state). :class:`EncryptedField` descriptors
encrypt values under the owner's data key, with associated data binding each ciphertext to
its table, column and row id. Destroying the data key (crypto-shredding) makes every such
value read as :data:`ERASED`.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar, overload

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from casework.crypto.aead import KEY_BYTES, Aead, parse_header
from casework.crypto.errors import CryptoError, DecryptionError
from casework.crypto.keyring import Keyring, get_keyring
from casework.crypto.state import wrapping_key_id
from casework.db import session as default_session
from casework.db import utcnow

T = TypeVar("T")
DATA_KEY_ID_BYTES = 8


class ErasedError(CryptoError):
    """A value was written to a record whose data key has been destroyed."""


class Erased:
    """What an encrypted field reads as once its data key is destroyed."""

    _instance: Erased | None = None

    def __new__(cls) -> Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __str__(self) -> str:
        # Translated on pages; plain English in CLI output and logs.
        return str(_l("[erased]")) if has_request_context() else "[erased]"

    def __repr__(self) -> str:
        return "ERASED"


ERASED = Erased()


def field_ad(table: str, column: str, row_id: uuid.UUID) -> bytes:
    """Associated data binding a field's ciphertext to its table, column and row:
    ``casework|field|<table>|<column>|<row id>`` in UTF-8."""
    return field_ad_prefix(table, column) + str(row_id).encode()


def field_ad_prefix(table: str, column: str) -> bytes:
    """The part of :func:`field_ad` before the row id (bulk writers and the descriptor cache it)."""
    return f"casework|field|{table}|{column}|".encode()


_MISSING: Any = object()


def _row_id_bytes(instance: Any) -> bytes:
    """``str(instance.id)`` in UTF-8, cached on the instance while its id stays the same."""
    state = instance.__dict__
    row_id = state.get("id", _MISSING)
    if row_id is _MISSING:
        row_id = instance.id
    if state.get("_casework_rid") is row_id:
        return state["_casework_rid_bytes"]  # type: ignore[no-any-return]
    encoded = str(row_id).encode()
    state["_casework_rid"] = row_id
    state["_casework_rid_bytes"] = encoded
    return encoded


# -- data keys ------------------------------------------------------------------------------
def wrap_ad(table: str, row_id: uuid.UUID) -> bytes:
    return f"casework|data-key|{table}|{row_id}".encode()


def new_data_key(keyring: Keyring, table: str, row_id: uuid.UUID, master_key_id: str) -> tuple[bytes, str, Aead]:
    """A fresh data key for one row, wrapped under ``master_key_id``: (wrapped blob, that id,
    usable key). ``master_key_id`` must come from casework.crypto.state.wrapping_key_id in the
    transaction that stores the row (the deployment's active key, under its lock)."""
    key_id, key = os.urandom(DATA_KEY_ID_BYTES), os.urandom(KEY_BYTES)
    master = keyring.master(master_key_id)
    wrapped = master.seal(key_id + key, wrap_ad(table, row_id))
    return wrapped, master_key_id, Aead(key_id, key)


def unwrap_data_key(keyring: Keyring, wrapped: bytes, table: str, row_id: uuid.UUID) -> Aead:
    """Unwrap with whichever master key wrapped it. Raises UnknownKeyError or DecryptionError."""
    master_id, _ = parse_header(wrapped)
    plain = keyring.master(master_id.decode()).open(wrapped, wrap_ad(table, row_id))
    return Aead(plain[:DATA_KEY_ID_BYTES], plain[DATA_KEY_ID_BYTES:])


def rewrap_data_key(keyring: Keyring, wrapped: bytes, table: str, row_id: uuid.UUID, master_key_id: str) -> bytes:
    """Re-wrap an existing data key under ``master_key_id`` (key rotation; the id comes from
    casework.crypto.state.wrapping_key_id, as for a new data key). Raises UnknownKeyError or
    DecryptionError when the data key cannot be unwrapped."""
    master_id, _ = parse_header(wrapped)
    ad = wrap_ad(table, row_id)
    plain = keyring.master(master_id.decode()).open(wrapped, ad)
    return keyring.master(master_key_id).seal(plain, ad)


# Unwrapped data keys of recently read rows, per process, keyed by (table, row, wrapped key):
# re-reading a case (a list page, the case file after an edit) skips the unwrap. The master key
# that unwraps them is in this process's memory anyway, so this adds no new exposure; a
# destroyed or rotated key is never looked up again (its wrapped bytes are gone from the row).
_UNWRAP_CACHE_SIZE = 20_000
_unwrap_cache: OrderedDict[tuple[int, str, uuid.UUID, bytes], Aead] = OrderedDict()
_unwrap_lock = threading.Lock()


def _cached_unwrap(wrapped: bytes, table: str, row_id: uuid.UUID) -> Aead:
    keyring = get_keyring()
    cache_key = (id(keyring), table, row_id, wrapped)
    with _unwrap_lock:
        aead = _unwrap_cache.get(cache_key)
        if aead is not None:
            _unwrap_cache.move_to_end(cache_key)
            return aead
    aead = unwrap_data_key(keyring, wrapped, table, row_id)
    with _unwrap_lock:
        _unwrap_cache[cache_key] = aead
        if len(_unwrap_cache) > _UNWRAP_CACHE_SIZE:
            _unwrap_cache.popitem(last=False)
    return aead


def forget_unwrapped_keys() -> None:
    """Empty the per-process cache (after a keyring change, and in tests)."""
    with _unwrap_lock:
        _unwrap_cache.clear()


class DataKeyOwner:
    """Mixin for rows that own a data key. Requires a UUID ``id``."""

    __tablename__: str
    id: Mapped[uuid.UUID]
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrapping_key_id: Mapped[str | None] = mapped_column(String(40), index=True)
    key_destroyed_at: Mapped[datetime | None]

    @property
    def is_erased(self) -> bool:
        return self.key_destroyed_at is not None

    def data_key(self) -> Aead | None:
        """The unwrapped data key (cached per row), created on first use; None once destroyed."""
        state = self.__dict__
        cached = state.get("_casework_dk")
        # Fast path for reads: both columns loaded, not destroyed, the same wrapped key as cached.
        if (
            cached is not None
            and cached[0] is state.get("wrapped_key", _MISSING)
            and state.get("key_destroyed_at", _MISSING) is None
        ):
            return cached[1]  # type: ignore[no-any-return]
        if self.key_destroyed_at is not None:
            return None
        if self.wrapped_key is None:
            # The deployment's active key, read (and locked) in the transaction that will store
            # this row: never a key this process picked from its own keyring file.
            db = Session.object_session(self) or default_session
            keyring = get_keyring()
            master_key_id = wrapping_key_id(db, keyring)
            self.wrapped_key, self.wrapping_key_id, aead = new_data_key(
                keyring, self.__tablename__, self.id, master_key_id
            )
            self.__dict__["_casework_dk"] = (self.wrapped_key, aead)
            return aead
        cached = self.__dict__.get("_casework_dk")
        if cached is not None and cached[0] is self.wrapped_key:
            return cached[1]  # type: ignore[no-any-return]
        aead = _cached_unwrap(self.wrapped_key, self.__tablename__, self.id)
        self.__dict__["_casework_dk"] = (self.wrapped_key, aead)
        return aead

    def destroy_data_key(self) -> None:
        """Crypto-shred: forget the data key. Irreversible; callers audit it."""
        if self.wrapped_key is not None:
            with _unwrap_lock:
                for cache_key in [k for k in _unwrap_cache if k[2] == self.id and k[3] == self.wrapped_key]:
                    del _unwrap_cache[cache_key]
        self.wrapped_key = None
        self.wrapping_key_id = None
        self.key_destroyed_at = utcnow()
        self.__dict__.pop("_casework_dk", None)
        self.__dict__.pop("_casework_plain", None)

    def _encryption_owner(self) -> DataKeyOwner | None:
        return self


# -- codecs -----------------------------------------------------------------------------------
class Codec(Generic[T]):
    def __init__(self, encode: Callable[[T], bytes], decode: Callable[[bytes], T]) -> None:
        self.encode, self.decode = encode, decode


TEXT: Codec[str] = Codec(lambda v: v.encode("utf-8"), lambda b: b.decode("utf-8"))
DATE: Codec[date] = Codec(lambda v: v.isoformat().encode(), lambda b: date.fromisoformat(b.decode()))


# -- the field descriptor ---------------------------------------------------------------------
class _AdPrefix(bytes):
    """A column's associated-data prefix, remembering whether its rows own their data key."""

    owns_key: bool

    def __new__(cls, prefix: bytes, owns_key: bool) -> _AdPrefix:
        obj = super().__new__(cls, prefix)
        obj.owns_key = owns_key
        return obj


class EncryptedField(Generic[T]):
    """A plaintext attribute backed by a ciphertext column (``column_attr``) on the same model.

    The model must provide ``_encryption_owner()`` returning the DataKeyOwner whose key
    encrypts it (itself, or the case it belongs to), or None while that is not yet known.
    Reads decrypt once per ciphertext and cache; writes encrypt at once, or at flush when the
    owner is not yet known (a new row created with only a foreign key).
    """

    def __init__(self, column_attr: str, codec: Codec[T], key_owner: str | None = None) -> None:
        self.column_attr = column_attr
        self.codec = codec
        # The attribute naming another DataKeyOwner whose key encrypts this field instead of the
        # model's own (e.g. a case's erasure reason, kept under its organisation's key so that
        # it stays readable once the case's key is destroyed).
        self.key_owner = key_owner
        self.name = ""
        self.blob_key = ""
        self._ad_prefix: dict[type, _AdPrefix] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.blob_key = name + "\x00ciphertext"

    def associated_data(self, instance: Any) -> bytes:
        """``field_ad(table, column, instance.id)``, with the prefix cached per class."""
        cls = type(instance)
        prefix = self._ad_prefix.get(cls)
        if prefix is None:
            prefix = self._location(cls)
        return prefix + _row_id_bytes(instance)

    def _location(self, cls: type) -> _AdPrefix:
        column = cls.__mapper__.columns[self.column_attr]  # type: ignore[attr-defined]
        owns_key = (
            self.key_owner is None
            and issubclass(cls, DataKeyOwner)
            and cls._encryption_owner is DataKeyOwner._encryption_owner
        )
        prefix = self._ad_prefix[cls] = _AdPrefix(field_ad_prefix(column.table.name, column.name), owns_key)
        return prefix

    @overload
    def __get__(self, instance: None, owner: type) -> EncryptedField[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T | Erased | None: ...

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        state = instance.__dict__
        pending = state.get("_casework_pending")
        if pending and self.name in pending:
            return pending[self.name]
        # A loaded column value sits in the instance dict; anything else (expired, deferred)
        # goes through the ORM attribute, which loads it.
        blob = state.get(self.column_attr, _MISSING)
        if blob is _MISSING:
            blob = getattr(instance, self.column_attr)
        if blob is None:
            return None
        plain_cache = state.get("_casework_plain")
        if plain_cache is None:
            plain_cache = state["_casework_plain"] = {}
        # Value and the ciphertext it came from sit under two keys (no tuple per read: fewer
        # allocations, fewer garbage-collector passes on big result sets).
        if plain_cache.get(self.blob_key) is blob:
            return plain_cache[self.name]
        cls = type(instance)
        prefix = self._ad_prefix.get(cls)
        if prefix is None:
            prefix = self._location(cls)
        # Fast path for rows that own their key (cases, users) once it is unwrapped: the same
        # checks as DataKeyOwner.data_key, without two method calls per field.
        cached = state.get("_casework_dk") if prefix.owns_key else None
        if (
            cached is not None
            and cached[0] is state.get("wrapped_key", _MISSING)
            and state.get("key_destroyed_at", _MISSING) is None
        ):
            aead = cached[1]
        else:
            key_owner = self.owner_of(instance)
            aead = key_owner.data_key() if key_owner is not None else None
            if aead is None:
                if key_owner is not None and key_owner.is_erased:
                    return ERASED
                raise DecryptionError("no data key available for this value")
        value = self.codec.decode(aead.open(blob, prefix + _row_id_bytes(instance)))
        plain_cache[self.name] = value
        plain_cache[self.blob_key] = blob
        return value

    def owner_of(self, instance: Any) -> DataKeyOwner | None:
        """The DataKeyOwner whose data key encrypts this field of ``instance`` (None: not known yet)."""
        if self.key_owner is not None:
            return getattr(instance, self.key_owner)  # type: ignore[no-any-return]
        return instance._encryption_owner()  # type: ignore[no-any-return]

    def __set__(self, instance: Any, value: T | None) -> None:
        if isinstance(value, str) and value == "":
            value = None
        key_owner = self.owner_of(instance)
        if key_owner is None:
            instance.__dict__.setdefault("_casework_pending", {})[self.name] = value
            return
        self.encrypt_into(instance, key_owner, value)

    def encrypt_into(self, instance: Any, key_owner: DataKeyOwner, value: T | None) -> None:
        if value is None:
            setattr(instance, self.column_attr, None)
            return
        aead = key_owner.data_key()
        if aead is None:
            raise ErasedError("this record was erased: its data key no longer exists")
        blob = aead.seal(self.codec.encode(value), self.associated_data(instance))
        setattr(instance, self.column_attr, blob)
        plain_cache = instance.__dict__.setdefault("_casework_plain", {})
        plain_cache[self.name] = value
        plain_cache[self.blob_key] = blob


def encrypted_fields(cls: type) -> dict[str, EncryptedField[Any]]:
    fields: dict[str, EncryptedField[Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            if isinstance(attr, EncryptedField):
                fields[name] = attr
    return fields


@event.listens_for(Session, "before_flush")
def _encrypt_pending(session: Session, _context: Any, _instances: Any) -> None:
    """Encrypt values set before the row's key owner was known (new rows given only an FK)."""
    for instance in list(session.new) + list(session.dirty):
        pending = instance.__dict__.get("_casework_pending")
        if not pending:
            continue
        fields = encrypted_fields(type(instance))
        for name, value in list(pending.items()):
            key_owner = fields[name].owner_of(instance)
            if key_owner is None:
                raise CryptoError(f"{type(instance).__name__} has encrypted values but no key owner")
            fields[name].encrypt_into(instance, key_owner, value)
        instance.__dict__.pop("_casework_pending", None)
