"""Session rules: idle timeout, absolute lifetime, and invalidation by the user's epoch.

Sessions are signed cookies (nothing in process memory, so they survive worker restarts and
work across hosts). Logout, password change and deactivation bump ``User.session_epoch``,
which voids every session issued before.
"""

from __future__ import annotations

import functools
import secrets
import time
import uuid
from typing import Any

from flask import Flask, current_app, flash
from flask import session as flask_session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user
from sqlalchemy import Select, bindparam, select

from casework.auth.models import User
from casework.db import session


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.user_loader(load_user)
    login_manager.login_message = _l("Please sign in to continue.")  # type: ignore[assignment]
    login_manager.login_message_category = "info"


def start_session(user: User) -> None:
    """Begin a fresh session for ``user`` (a new session id; nothing carried over)."""
    language = flask_session.get("language")
    flask_session.clear()
    flask_session.permanent = True
    now = time.time()
    flask_session["sid"] = secrets.token_urlsafe(24)
    flask_session["epoch"] = user.session_epoch
    flask_session["login_at"] = now
    flask_session["seen_at"] = now
    if language:
        flask_session["language"] = language
    login_user(user)


def end_session() -> None:
    language = flask_session.get("language")
    flask_session.clear()
    if language:
        flask_session["language"] = language


@functools.cache
def _user_by_id() -> Select[tuple[User]]:
    """The signed-in user with their organisation, on every request: one statement built once
    (session.get builds and hashes a new one each time)."""
    return select(User).where(User.id == bindparam("user_id"))


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user, or None when the session is no longer valid."""
    try:
        wanted = uuid.UUID(user_id)
    except ValueError:
        return None
    user = session.execute(_user_by_id(), {"user_id": wanted}).scalar_one_or_none()
    if (
        user is None
        or not user.active
        or not user.organisation.active
        or flask_session.get("epoch") != user.session_epoch
    ):
        _expire(None)
        return None
    cfg = current_app.config["CASEWORK"]
    now = time.time()
    login_at: Any = flask_session.get("login_at", 0)
    seen_at: Any = flask_session.get("seen_at", 0)
    if now - float(login_at) > cfg.session_absolute_hours * 3600:
        _expire(_l("Your session has reached its time limit. Please sign in again."))
        return None
    if now - float(seen_at) > cfg.session_idle_minutes * 60:
        _expire(_l("You were signed out after a period of inactivity."))
        return None
    # Only write the cookie again when it matters, to keep responses cacheable by nothing else.
    if now - float(seen_at) > 30:
        flask_session["seen_at"] = now
    return user


def _expire(message: Any) -> None:
    end_session()
    if message:
        flash(str(message), "info")
