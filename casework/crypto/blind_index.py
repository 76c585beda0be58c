"""Blind indexes: keyed HMAC-SHA256 over normalised input, for exact search and duplicates.

The HMAC key is separate from the encryption keys, so an index value reveals nothing without
it; values are truncated to 128 bits (collisions only ever add a candidate to review).

Cases are indexed under their organisation's own key (:func:`organisation_key`, derived from
the keyring's blind-index key with HKDF and the organisation's id): the same person registered
by two organisations gets unrelated index values, so a copy of the database links nothing
across organisations. Duplicate checks and searches stay within one organisation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import unicodedata
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.crypto.keyring import Keyring, get_keyring

INDEX_HEX_CHARS = 32
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—'’`´.,_/]+")
_DOCUMENT_NOISE = re.compile(r"[^0-9a-z]")


def fold(text: str) -> str:
    """Case, accents and compatibility forms folded away: 'ÉLODIE' and 'elodie' match."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped).casefold()


def normalise_name(name: str) -> str:
    """Fold, treat hyphens/apostrophes/dots as spaces, and sort the tokens, so that
    'María-José  GARCÍA' and 'garcia maria jose' give the same index."""
    tokens = [t for t in _SEPARATORS.split(fold(name)) if t]
    return " ".join(sorted(tokens))


def normalise_document(number: str) -> str:
    """Document numbers: folded, keeping only letters and digits ('AB 12-345' == 'ab12345')."""
    return _DOCUMENT_NOISE.sub("", fold(number))


_ORG_KEYS: dict[tuple[int, uuid.UUID], bytes] = {}
_ORG_KEYS_LOCK = threading.Lock()


def derive_organisation_key(blind_index_key: bytes, organisation_id: uuid.UUID) -> bytes:
    """HKDF-SHA256 of the keyring's blind-index key, bound to one organisation."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"casework|blind-index|organisation|" + organisation_id.bytes,
    ).derive(blind_index_key)


def organisation_key(organisation_id: uuid.UUID, keyring: Keyring | None = None) -> bytes:
    """The blind-index key of one organisation (derived once per process)."""
    keyring = keyring or get_keyring()
    cache_key = (id(keyring), organisation_id)
    key = _ORG_KEYS.get(cache_key)
    if key is None:
        key = derive_organisation_key(keyring.blind_index_key, organisation_id)
        with _ORG_KEYS_LOCK:
            _ORG_KEYS[cache_key] = key
    return key


def compute(purpose: str, normalised: str, key: bytes | None = None) -> str:
    """HMAC of an already normalised value, domain-separated by ``purpose``."""
    secret = key if key is not None else get_keyring().blind_index_key
    digest = hmac.new(secret, f"{purpose}\x1f{normalised}".encode(), hashlib.sha256).hexdigest()
    return digest[:INDEX_HEX_CHARS]


def name_index(given_name: str | None, family_name: str | None, key: bytes | None = None) -> str | None:
    full = normalise_name(f"{given_name or ''} {family_name or ''}")
    return compute("name", full, key) if full else None


def name_dob_index(
    given_name: str | None, family_name: str | None, date_of_birth_iso: str | None, key: bytes | None = None
) -> str | None:
    full = normalise_name(f"{given_name or ''} {family_name or ''}")
    if not full or not date_of_birth_iso:
        return None
    return compute("name+dob", f"{full}|{date_of_birth_iso}", key)


def document_index(number: str | None, key: bytes | None = None) -> str | None:
    normalised = normalise_document(number or "")
    return compute("document", normalised, key) if normalised else None
