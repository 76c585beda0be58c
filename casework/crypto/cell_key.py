"""Cell keys for the perturbation of published tables.

Each cell of a table (a combination of categories, counted in some unit, holding some count)
gets a pseudo-random number in [0, 1) from a keyed PRF: HMAC-SHA256 under a key derived (HKDF)
from the keyring's blind-index key and the dataset. The same cell with the same count always
gets the same number, whatever the query it is part of and whenever it is asked, so repeating
a request or comparing two tables shows nothing new; without the keyring (the database alone)
nobody can compute them.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.crypto.keyring import get_keyring

_INFO = b"casework cell-key perturbation v1"


def dataset_key(dataset_id: uuid.UUID, root: bytes | None = None) -> bytes:
    """The cell-key secret of one dataset (an organisation's consented cases)."""
    secret = root if root is not None else get_keyring().blind_index_key
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + b"|" + dataset_id.bytes).derive(secret)


def uniforms(key: bytes, cells: Iterable[str]) -> np.ndarray:
    """One number in [0, 1) per cell identity (a canonical text naming the cell and its count)."""
    out = []
    for cell in cells:
        digest = hmac.new(key, cell.encode("utf-8"), hashlib.sha256).digest()
        out.append(int.from_bytes(digest[:7], "big") / float(1 << 56))
    return np.asarray(out, dtype=np.float64)
