"""Errors of the crypto layer; none of their messages ever contains key or plaintext material."""


class CryptoError(Exception):
    """Base class for every crypto failure."""


class KeyringError(CryptoError):
    """The keyring file is missing, unreadable or malformed."""


class KeyUnavailableError(CryptoError):
    """This host's keyring lacks a master key the deployment needs: the request fails cleanly
    (503, nothing saved) until the keyring file is copied from a host that holds it."""


class UnknownKeyError(KeyUnavailableError):
    """A ciphertext names a key the keyring does not hold (a missing or retired master key)."""


class ActiveKeyUnavailable(KeyUnavailableError):
    """The deployment's active master key is not in this host's keyring, so this process may
    wrap no new data key (it never falls back to another key)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"this host's keyring lacks the deployment's active master key {key_id}")
        self.key_id = key_id


class DecryptionError(CryptoError):
    """A ciphertext failed authentication: wrong key, altered, or bound to another row/column."""
