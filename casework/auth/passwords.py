"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


class PasswordPolicyError(ValueError):
    """The password breaks the policy; ``str(error)`` is a message for the user."""


def _hasher() -> PasswordHasher:
    cfg = current_app.config["CASEWORK"]
    return _cached_hasher(cfg.argon2_time_cost, cfg.argon2_memory_kib, cfg.argon2_parallelism)


@lru_cache(maxsize=4)
def _cached_hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def check_policy(password: str) -> None:
    """Raise PasswordPolicyError unless the password may be used (checked before hashing)."""
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_LENGTH:
        raise PasswordPolicyError(str(_l("Use at least %(n)d characters.", n=MIN_LENGTH)))
    if length > MAX_LENGTH:
        raise PasswordPolicyError(str(_l("Use at most %(n)d characters.", n=MAX_LENGTH)))
    if password.casefold() in common_passwords() or len(set(password)) < 4:
        raise PasswordPolicyError(str(_l("This password is too common or too simple. Choose another.")))


def hash_password(password: str) -> str:
    """Hash after checking the policy. Raises PasswordPolicyError."""
    check_policy(password)
    return _hasher().hash(unicodedata.normalize("NFC", password))


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(password_hash, unicodedata.normalize("NFC", password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """Verified against when the account does not exist, so timing does not reveal it."""
    cfg = current_app.config["CASEWORK"]
    return _cached_dummy(cfg.argon2_time_cost, cfg.argon2_memory_kib, cfg.argon2_parallelism)


@lru_cache(maxsize=4)
def _cached_dummy(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _cached_hasher(time_cost, memory_kib, parallelism).hash("casework-dummy-password")
