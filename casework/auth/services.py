"""Authentication rules: lockout, throttling, TOTP, password changes.

Services change, audit and flush; the view commits once.
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime, timedelta

import pyotp
from flask import current_app
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from casework.audit import writer as audit
from casework.auth import passwords
from casework.auth.models import LoginThrottle, TotpUsedStep, User
from casework.crypto import blind_index
from casework.db import UtcDateTime, execute_now, session, utcnow

TOTP_STEP_SECONDS = 30
MFA_REQUIRED_ROLES = frozenset({"admin", "operator", "supervisor"})


class LoginRefused(Exception):
    """Wrong email, wrong password, locked or deactivated account: one message for all."""


class AccountLocked(LoginRefused):
    """The account is locked (now, or by this very failure): no factor is checked until it opens."""


class LoginThrottled(Exception):
    """Too many failed sign-ins from this address in the window."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _source_key(remote_addr: str | None) -> str:
    return blind_index.compute("login-source", remote_addr or "unknown")


# -- counters: counted in SQL before the attempt is checked --------------------------------------
# Every attempt takes a slot first, in a transaction of its own committed at once, by one atomic
# statement (``attempts = attempts + 1 ... RETURNING``); only then is the password or code
# checked. A burst sent at once from every worker and host thus gets at most the limit's number
# of checks between them: reading the count in Python and writing it back let 23 concurrent
# guesses through a lockout of 5. A success gives its slot back: only failures count.
_THROTTLES = LoginThrottle.__table__
_USERS = User.__table__


def check_throttle(remote_addr: str | None) -> None:
    """Count one attempt from this address and raise LoginThrottled (audited) when it goes past
    the limit of the window (a fixed window, started by the address's first attempt)."""
    cfg = current_app.config["CASEWORK"]
    now = utcnow()
    expired = _THROTTLES.c.window_started_at <= now - timedelta(minutes=cfg.login_ip_window_minutes)
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        upsert(_THROTTLES)
        .values(source=_source_key(remote_addr), window_started_at=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[_THROTTLES.c.source],
            set_={
                "attempts": case((expired, 1), else_=_THROTTLES.c.attempts + 1),
                "window_started_at": case((expired, literal(now, UtcDateTime())), else_=_THROTTLES.c.window_started_at),
            },
        )
        .returning(_THROTTLES.c.attempts)
    )
    attempts = execute_now(statement)[0][0][0]
    if attempts > cfg.login_ip_max_attempts:
        audit.record("login.throttled", outcome="refused")
        raise LoginThrottled


def _release_throttle(remote_addr: str | None) -> None:
    """The attempt succeeded: it no longer counts against the address."""
    session.execute(
        update(_THROTTLES)
        .where(_THROTTLES.c.source == _source_key(remote_addr), _THROTTLES.c.attempts > 0)
        .values(attempts=_THROTTLES.c.attempts - 1)
    )


def _take_account_slot(user: User, now: datetime) -> int | None:
    """Count one attempt on the account; its number (1 to the limit), or None when the account is
    locked or every remaining attempt is already being checked (committed at once)."""
    cfg = current_app.config["CASEWORK"]
    unlocked = or_(_USERS.c.locked_until.is_(None), _USERS.c.locked_until <= now)
    rows, _count = execute_now(
        update(_USERS)
        .where(_USERS.c.id == user.id, unlocked, _USERS.c.failed_logins < cfg.login_max_failures)
        .values(failed_logins=_USERS.c.failed_logins + 1)
        .returning(_USERS.c.failed_logins)
    )
    number = rows[0][0] if rows else None
    if number is None and not is_locked(user, now):
        # More attempts at once than the limit: the account locks now, before the ones in
        # flight are even answered (as it would after that many failures in a row).
        _lock(user, now)
    return None if number is None else int(number)


def _lock(user: User, now: datetime) -> None:
    """Lock the account (audited once: a lock already in force is left as it is)."""
    cfg = current_app.config["CASEWORK"]
    until = now + timedelta(minutes=cfg.login_lockout_minutes)
    _rows, locked = execute_now(
        update(_USERS)
        .where(_USERS.c.id == user.id, or_(_USERS.c.locked_until.is_(None), _USERS.c.locked_until <= now))
        .values(locked_until=until, failed_logins=0)
    )
    if locked:
        set_committed_value(user, "locked_until", until)
        set_committed_value(user, "failed_logins", 0)
        audit.record("account.locked", outcome="ok", target=user, actor=user)
    else:
        user_row = session.execute(select(_USERS.c.locked_until).where(_USERS.c.id == user.id)).scalar_one()
        set_committed_value(user, "locked_until", user_row)


def _count_failure(user: User, number: int, now: datetime) -> None:
    """The attempt holding slot ``number`` failed: it stays counted; the last slot locks."""
    if number >= current_app.config["CASEWORK"].login_max_failures:
        _lock(user, now)


def _reset_counters(user: User) -> None:
    """Every factor passed: the account's failures start again from nought."""
    session.execute(update(_USERS).where(_USERS.c.id == user.id).values(failed_logins=0, locked_until=None))
    set_committed_value(user, "failed_logins", 0)
    set_committed_value(user, "locked_until", None)


def authenticate(email: str, password: str, remote_addr: str | None) -> User:
    """Check a password sign-in. Raises LoginThrottled or LoginRefused (audited either way).

    The attempt is counted towards the address's throttle and the account's lockout before
    the password is checked, in the database, so the limits hold across worker processes and
    hosts however many attempts arrive at once.
    """
    check_throttle(remote_addr)
    user = session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    now = utcnow()
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password)  # same cost as a real check
        _record_failure(remote_addr, None, "unknown_account")
        raise LoginRefused
    number = _take_account_slot(user, now)
    if number is None:
        passwords.verify_password(passwords.dummy_hash(), password)  # same cost: no timing tell
        _record_failure(remote_addr, user, "locked")
        raise AccountLocked
    usable = can_sign_in(user)
    if not passwords.verify_password(user.password_hash, password) or not usable:
        _count_failure(user, number, now)
        _record_failure(remote_addr, user, "bad_password" if usable else "deactivated")
        raise LoginRefused
    # The password step passed: its slots go back (a second factor still counts on its own).
    _release_throttle(remote_addr)
    session.execute(
        update(_USERS)
        .where(_USERS.c.id == user.id, _USERS.c.failed_logins > 0)
        .values(failed_logins=_USERS.c.failed_logins - 1)
    )
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def can_sign_in(user: User) -> bool:
    """Active account in an active organisation (deactivating either ends every session)."""
    return bool(user.active) and bool(user.organisation.active)


def check_second_factor(user: User, code: str, remote_addr: str | None) -> bool:
    """Check a TOTP code at sign-in; True when it is right and unused (the caller then calls
    :func:`complete_login`). A wrong or reused code counts towards the account's lockout like a
    wrong password, and towards the address's throttle (audited).

    Raises LoginThrottled for the address, AccountLocked when the account is (or is now) locked.
    """
    check_throttle(remote_addr)
    now = utcnow()
    number = _take_account_slot(user, now)
    if number is None:
        _record_failure(remote_addr, user, "locked")
        raise AccountLocked
    if verify_totp(user, code):
        _release_throttle(remote_addr)
        return True
    _count_failure(user, number, now)
    _record_failure(remote_addr, user, "bad_totp")
    if is_locked(user, now):
        raise AccountLocked
    return False


def complete_login(user: User) -> None:
    """A sign-in passed every factor: reset the counters and audit it."""
    _reset_counters(user)
    user.last_login_at = utcnow()
    audit.record("login.success", target=user, actor=user)
    session.flush()


def _record_failure(remote_addr: str | None, user: User | None, reason: str) -> None:
    audit.record(
        "login.failure",
        outcome="refused",
        target=user,
        actor=user,
        details={"reason": reason},
    )
    session.flush()


# -- TOTP ------------------------------------------------------------------------------------------
def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="casework")


def verify_totp(user: User, code: str, secret: str | None = None, at: float | None = None) -> bool:
    """Accept a code of the current step (or one either side, for clock drift) that is newer
    than the last accepted step: a code is never accepted twice."""
    secret = secret or (user.totp_secret if isinstance(user.totp_secret, str) else None)
    code = "".join(ch for ch in code if ch in "0123456789")  # not isdigit(): it takes "²" too
    if not secret or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now_step = int((time.time() if at is None else at) // TOTP_STEP_SECONDS)
    for step in (now_step - 1, now_step, now_step + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            if not _consume_step(user, step):
                return False  # the same code, accepted at this very moment by another request
            user.totp_last_step = step
            return True
    return False


def _consume_step(user: User, step: int) -> bool:
    """Record that ``user`` used the code of ``step``; False when another transaction did first.

    The (user, step) primary key decides, whatever the number of workers and hosts: a second
    insert waits for the first transaction (PostgreSQL: the key; SQLite: the write lock) and
    then inserts nothing (ON CONFLICT DO NOTHING), so the code is refused."""

    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    consumed = session.execute(
        upsert(TotpUsedStep)
        .values(user_id=user.id, step=step, used_at=utcnow())
        .on_conflict_do_nothing()
        .returning(TotpUsedStep.step)
    ).first()
    if consumed is None:
        return False
    session.execute(delete(TotpUsedStep).where(TotpUsedStep.user_id == user.id, TotpUsedStep.step < step - 2))
    return True


def enable_totp(user: User, secret: str, code: str) -> bool:
    """Enable two-factor once the user proves their authenticator works (a wrong code is
    audited as a refused enrolment)."""
    if not verify_totp(user, code, secret=secret):
        audit.record("account.totp_enabled", outcome="refused", target=user)
        return False
    user.totp_secret = secret
    user.totp_enabled = True
    audit.record("account.totp_enabled", target=user)
    session.flush()
    return True


def change_password(user: User, current_password: str, new_password: str, remote_addr: str | None) -> None:
    """Change the password of a signed-in user who gives the current one. The current password
    is checked like a sign-in: counted first towards the address's throttle and the account's
    lockout, so a session holder cannot guess it without limit.

    Raises LoginThrottled for the address, AccountLocked when the account is (or is now) locked,
    LoginRefused for a wrong current password (all audited). Ends every other session of the
    user (epoch)."""
    check_throttle(remote_addr)
    now = utcnow()
    number = _take_account_slot(user, now)
    if number is None:
        audit.record("account.password_change", outcome="refused", target=user, details={"reason": "locked"})
        raise AccountLocked
    if not passwords.verify_password(user.password_hash, current_password):
        _count_failure(user, number, now)  # first: on SQLite it commits in a session of its own
        audit.record("account.password_change", outcome="refused", target=user)
        if is_locked(user, now):
            raise AccountLocked
        raise LoginRefused
    _release_throttle(remote_addr)
    _reset_counters(user)
    user.password_hash = passwords.hash_password(new_password)
    user.must_change_password = False
    user.session_epoch += 1
    audit.record("account.password_change", target=user)
    session.flush()


def logout(user: User) -> None:
    """Sign out everywhere: every session of the user ends."""
    user.session_epoch += 1
    audit.record("logout", target=user)
    session.flush()
