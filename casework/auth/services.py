"""Authentication rules: lockout, throttling, TOTP, password changes.

Services change, audit and flush; the view commits once.
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime, timedelta

import pyotp
from flask import current_app
from sqlalchemy import delete, func, select

from casework.audit import writer as audit
from casework.auth import passwords
from casework.auth.models import LoginAttempt, User
from casework.crypto import blind_index
from casework.db import session, utcnow

TOTP_STEP_SECONDS = 30
MFA_REQUIRED_ROLES = frozenset({"admin", "operator", "supervisor"})


class LoginRefused(Exception):
    """Wrong email, wrong password, locked or deactivated account: one message for all."""


class LoginThrottled(Exception):
    """Too many failed sign-ins from this address in the window."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _source_key(remote_addr: str | None) -> str:
    return blind_index.compute("login-source", remote_addr or "unknown")


def check_throttle(remote_addr: str | None) -> None:
    """Raise LoginThrottled when this address has failed too often recently."""
    cfg = current_app.config["CASEWORK"]
    since = utcnow() - timedelta(minutes=cfg.login_ip_window_minutes)
    failures = session.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.source == _source_key(remote_addr), LoginAttempt.attempted_at > since)
    ).scalar_one()
    if failures >= cfg.login_ip_max_attempts:
        audit.record("login.throttled", outcome="refused")
        raise LoginThrottled


def authenticate(email: str, password: str, remote_addr: str | None) -> User:
    """Check a password sign-in. Raises LoginThrottled or LoginRefused (audited either way).

    Failures count towards the account's lockout and the address's throttle, both kept in
    the database so they hold across worker processes.
    """
    check_throttle(remote_addr)
    user = session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    now = utcnow()
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password)  # same cost as a real check
        _record_failure(remote_addr, None, "unknown_account")
        raise LoginRefused
    if is_locked(user, now):
        passwords.verify_password(passwords.dummy_hash(), password)  # same cost: no timing tell
        _record_failure(remote_addr, user, "locked")
        raise LoginRefused
    usable = can_sign_in(user)
    if not passwords.verify_password(user.password_hash, password) or not usable:
        _count_failure(user, now)
        _record_failure(remote_addr, user, "bad_password" if usable else "deactivated")
        raise LoginRefused
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def can_sign_in(user: User) -> bool:
    """Active account in an active organisation (deactivating either ends every session)."""
    return bool(user.active) and bool(user.organisation.active)


def _count_failure(user: User, now: datetime) -> None:
    """One more failed factor for the account; locks it at the configured limit."""
    cfg = current_app.config["CASEWORK"]
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= cfg.login_max_failures:
        user.locked_until = now + timedelta(minutes=cfg.login_lockout_minutes)
        user.failed_logins = 0
        audit.record("account.locked", outcome="ok", target=user, actor=user)


def second_factor_failed(user: User, remote_addr: str | None) -> None:
    """A wrong (or reused) TOTP code: counts towards the account's lockout like a wrong
    password, and towards the address's throttle."""
    _count_failure(user, utcnow())
    _record_failure(remote_addr, user, "bad_totp")


def complete_login(user: User) -> None:
    """A sign-in passed every factor: reset the counters and audit it."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    audit.record("login.success", target=user, actor=user)
    session.flush()


def _record_failure(remote_addr: str | None, user: User | None, reason: str) -> None:
    cfg = current_app.config["CASEWORK"]
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.attempted_at < utcnow() - timedelta(minutes=cfg.login_ip_window_minutes)
        )
    )
    session.add(LoginAttempt(source=_source_key(remote_addr)))
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
            user.totp_last_step = step
            return True
    return False


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


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Raises LoginRefused for a wrong current password, PasswordPolicyError for a bad new one.
    Ends every other session of the user (epoch)."""
    if not passwords.verify_password(user.password_hash, current_password):
        audit.record("account.password_change", outcome="refused", target=user)
        raise LoginRefused
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
