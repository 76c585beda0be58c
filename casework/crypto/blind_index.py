"""Blind indexes: keyed HMAC-SHA256 over normalised input, for exact search and duplicates.

The HMAC key is separate from the encryption keys, so an index value reveals nothing without
it; values are truncated to 128 bits (collisions only ever add a candidate to review).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from casework.crypto.keyring import get_keyring

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
