"""Errors of the crypto layer; none of their messages ever contains key or plaintext material."""


class CryptoError(Exception):
    """Base class for every crypto failure."""


class KeyringError(CryptoError):
    """The keyring file is missing, unreadable or malformed."""


class UnknownKeyError(CryptoError):
    """A ciphertext names a key the keyring does not hold (a missing or retired master key)."""


class DecryptionError(CryptoError):
    """A ciphertext failed authentication: wrong key, altered, or bound to another row/column."""
