"""Two-factor enrolment: the new TOTP secret waits on the server (encrypted under the user's
data key), never in the session cookie, which is signed but readable by whoever holds it.

Services change and flush; the view commits.
"""

from __future__ import annotations

from datetime import timedelta

from casework.auth import services
from casework.auth.models import User
from casework.db import session, utcnow

PENDING_MINUTES = 30


def pending_secret(user: User) -> str:
    """The secret being enrolled: the one waiting (if recent enough), else a new one, stored."""
    secret = user.totp_pending_secret
    fresh = user.totp_pending_at is not None and utcnow() - user.totp_pending_at < timedelta(minutes=PENDING_MINUTES)
    if isinstance(secret, str) and secret and fresh:
        return secret
    secret = services.new_totp_secret()
    user.totp_pending_secret = secret
    user.totp_pending_at = utcnow()
    session.flush()
    return secret


def finish(user: User, code: str) -> bool:
    """Turn two-factor on when ``code`` proves the authenticator holds the waiting secret (a
    wrong code is audited by services.enable_totp). False when nothing waits or it expired."""
    secret = user.totp_pending_secret
    fresh = user.totp_pending_at is not None and utcnow() - user.totp_pending_at < timedelta(minutes=PENDING_MINUTES)
    if not isinstance(secret, str) or not secret or not fresh:
        return False
    if not services.enable_totp(user, secret, code):
        return False
    user.totp_pending_secret = None
    user.totp_pending_at = None
    session.flush()
    return True
