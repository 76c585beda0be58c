"""Password hashing (argon2id) and the password policy.

The policy (NIST SP 800-63B, OWASP ASVS V2.1): 12 to 128 characters, not on the list of common
passwords, and hard to guess as estimated by zxcvbn (score 3 of 4 at least) given what an
attacker knows of the account: its e-mail address, its name, its organisation and this
product's name (context words). The account's own e-mail address, or its name, inside the
password is refused outright.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_STRENGTH = 3  # zxcvbn's score, 0-4: 3 is "safely unguessable" against offline slow-hash attacks
PRODUCT_WORDS = ("casework",)
_WORD_SPLIT = re.compile(r"[\W_]+", re.UNICODE)
# zxcvbn's cost grows with the length; past this the rest adds nothing to the estimate.
ESTIMATE_CHARS = 64
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


def context_for(
    user: Any = None, *, email: str | None = None, name: str | None = None, organisation: str | None = None
) -> tuple[str, ...]:
    """The context words of an account: its e-mail address, name and organisation's name."""
    if user is not None:
        email = email or getattr(user, "email", None)
        name = name or getattr(user, "display_name", None)
        org = getattr(user, "organisation", None)
        organisation = organisation or getattr(org, "name", None)
    return tuple(value for value in (email, name, organisation) if value)


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text).casefold() if ch.isalnum())


def _words(context: Iterable[str]) -> list[str]:
    words: list[str] = list(PRODUCT_WORDS)
    for value in context:
        words.append(value)
        words.extend(part for part in _WORD_SPLIT.split(value) if len(part) >= 3)
    return words


def check_policy(password: str, context: Sequence[str] = ()) -> None:
    """Raise PasswordPolicyError unless the password may be used (checked before hashing).
    ``context``: what identifies the account (:func:`context_for`), never part of a password."""
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_LENGTH:
        raise PasswordPolicyError(str(_l("Use at least %(n)d characters.", n=MIN_LENGTH)))
    if length > MAX_LENGTH:
        raise PasswordPolicyError(str(_l("Use at most %(n)d characters.", n=MAX_LENGTH)))
    if password.casefold() in common_passwords() or len(set(password)) < 4:
        raise PasswordPolicyError(str(_l("This password is too common or too simple. Choose another.")))
    folded = _fold(password)
    for value in context:
        identity = _fold(value.split("@")[0]) if "@" in value else _fold(value)
        if len(identity) >= 4 and identity in folded:
            raise PasswordPolicyError(
                str(_l("Do not use your e-mail address, your name or your organisation's name in your password."))
            )
    # Imported here: its frequency lists take some 13 MiB, needed only when a password is set.
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:ESTIMATE_CHARS], user_inputs=_words(context))
    if int(result["score"]) < MIN_STRENGTH:
        raise PasswordPolicyError(
            str(
                _l(
                    "This password is too easy to guess (repeated or sequential characters, common words, "
                    "dates or your own details). Use a longer phrase of several unrelated words."
                )
            )
        )


def hash_password(password: str, context: Sequence[str] = ()) -> str:
    """Hash after checking the policy (with the account's ``context`` words). Raises
    PasswordPolicyError."""
    check_policy(password, context)
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
