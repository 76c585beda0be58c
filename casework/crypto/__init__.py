"""Everything cryptographic in casework; nothing else imports ``cryptography`` directly."""

from casework.crypto.aead import Aead
from casework.crypto.errors import (
    ActiveKeyUnavailable,
    CryptoError,
    DecryptionError,
    KeyringError,
    KeyUnavailableError,
    UnknownKeyError,
)
from casework.crypto.fields import (
    DATE,
    ERASED,
    TEXT,
    DataKeyOwner,
    EncryptedField,
    Erased,
    ErasedError,
    field_ad,
    new_data_key,
    rewrap_data_key,
    unwrap_data_key,
)
from casework.crypto.keyring import Keyring, get_keyring

__all__ = [
    "ActiveKeyUnavailable",
    "DATE",
    "ERASED",
    "TEXT",
    "Aead",
    "CryptoError",
    "DataKeyOwner",
    "DecryptionError",
    "EncryptedField",
    "Erased",
    "ErasedError",
    "Keyring",
    "KeyUnavailableError",
    "KeyringError",
    "UnknownKeyError",
    "field_ad",
    "get_keyring",
    "new_data_key",
    "rewrap_data_key",
    "unwrap_data_key",
]
