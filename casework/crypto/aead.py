"""The one ciphertext format: AES-256-GCM with a self-describing header.

``version (1 byte) | key id length (1 byte) | key id | nonce (12 bytes) | ciphertext + tag``

The associated data is never stored: callers pass what the value is bound to (table, column,
row), so a ciphertext copied to another row or column fails to decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.crypto.errors import DecryptionError

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32


class Aead:
    """An AES-256-GCM key with its id; the cipher object is built once and reused."""

    __slots__ = ("key_id", "_cipher", "_header")

    def __init__(self, key_id: bytes, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256-GCM keys are 32 bytes")
        if not 0 < len(key_id) < 256:
            raise ValueError("key ids are 1 to 255 bytes")
        self.key_id = key_id
        self._cipher = AESGCM(key)
        self._header = bytes((FORMAT_VERSION, len(key_id))) + key_id

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return self._header + nonce + self._cipher.encrypt(nonce, plaintext, associated_data)

    def open(self, blob: bytes, associated_data: bytes) -> bytes:
        """Decrypt ``blob``. Raises DecryptionError if it was altered, moved or is for another key."""
        offset = len(self._header)
        # Fast path (every read): the header is exactly this key's; otherwise parse and explain.
        if blob[:offset] != self._header or len(blob) < offset + NONCE_BYTES + TAG_BYTES:
            key_id, offset = parse_header(blob)
            if key_id != self.key_id:
                raise DecryptionError("ciphertext is for another key")
        nonce = blob[offset : offset + NONCE_BYTES]
        try:
            return self._cipher.decrypt(nonce, blob[offset + NONCE_BYTES :], associated_data)
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication (altered, or bound to another row)") from None


def parse_header(blob: bytes) -> tuple[bytes, int]:
    """Return (key id, offset of the nonce). Raises DecryptionError on a malformed blob."""
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("unknown ciphertext format")
    end = 2 + blob[1]
    if len(blob) < end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated ciphertext")
    return bytes(blob[2:end]), end


def random_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
