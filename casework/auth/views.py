"""Sign in (password, then TOTP), two-factor enrolment, password change, sign out."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from casework.access import route
from casework.auth import enrolment, passwords, services, sessions
from casework.auth.forms import ChangePasswordForm, LoginForm, TotpSetupForm, TwoFactorForm
from casework.auth.models import User
from casework.db import session
from casework.security import is_safe_path

bp = Blueprint("auth", __name__, url_prefix="/auth")

PENDING_2FA_SECONDS = 300
# A literal inside _l() so that it is extracted; str() it before flashing (the session stores text).
GENERIC_FAILURE = _l("The email or password is incorrect, or the account is temporarily locked.")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; never an open redirect."""
    if target is not None and is_safe_path(target):
        return target
    return url_for("core.home")


@bp.route("/login", methods=["GET", "POST"])
@route(public=True)
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "", request.remote_addr)
        except services.LoginThrottled:
            session.commit()
            flash(_("Too many failed sign-ins from this network. Wait a few minutes and try again."), "error")
            return render_template("auth/login.html", form=form), 429
        except services.LoginRefused:
            session.commit()  # the failure counters and audit must persist
            flash(str(GENERIC_FAILURE), "error")
            return render_template("auth/login.html", form=form), 401
        if user.totp_enabled:
            flask_session.clear()
            flask_session["pending_2fa"] = {"user_id": str(user.id), "at": time.time()}
            session.commit()
            return redirect(url_for("auth.two_factor", next=request.args.get("next")))
        services.complete_login(user)
        session.commit()
        sessions.start_session(user)
        return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/two-factor", methods=["GET", "POST"])
@route(public=True)
def two_factor() -> str | Response:
    pending = flask_session.get("pending_2fa")
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_2FA_SECONDS:
        flask_session.pop("pending_2fa", None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    user = session.get(User, uuid.UUID(pending["user_id"]))
    if user is None or not services.can_sign_in(user) or services.is_locked(user):
        flask_session.clear()
        flash(str(GENERIC_FAILURE), "error")
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            passed = services.check_second_factor(user, form.code.data or "", request.remote_addr)
        except services.LoginThrottled:
            session.commit()
            flash(_("Too many failed sign-ins from this network. Wait a few minutes and try again."), "error")
            return render_template("auth/two_factor.html", form=form), 429
        except services.AccountLocked:
            session.commit()
            flask_session.clear()
            flash(str(GENERIC_FAILURE), "error")
            return redirect(url_for("auth.login"))
        if passed:
            services.complete_login(user)
            session.commit()
            sessions.start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        session.commit()
        flash(_("That code is not valid (or was already used). Wait for the next code and try again."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/two_factor.html", form=form), status


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@route()
def totp_setup() -> str | Response:
    user: User = current_user  # type: ignore[assignment]
    if user.totp_enabled:
        flash(_("Two-factor authentication is already on for your account."), "info")
        return redirect(url_for("core.home"))
    # The secret waits on the server, encrypted (never in the session cookie).
    secret = enrolment.pending_secret(user)
    session.commit()
    form = TotpSetupForm()
    status = 200
    if form.validate_on_submit():
        if enrolment.finish(user, form.code.data or ""):
            session.commit()
            flash(_("Two-factor authentication is on."), "success")
            return redirect(url_for("core.home"))
        session.commit()  # the refused attempt stays on record
        flash(_("That code did not match. Check the time on your phone and try the next code."), "error")
        status = 400
    elif request.method == "POST":
        status = 400
    uri = services.provisioning_uri(user, secret)
    import segno  # the two-factor set-up page only: not at every worker's start

    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/totp_setup.html", form=form, qr=qr, secret=grouped), status


@bp.route("/password", methods=["GET", "POST"])
@route()
def change_password() -> str | Response:
    # The real object, not the proxy: start_session() hands it to login_user(), and a proxy
    # stored as the request's user would resolve to itself forever (a C stack overflow).
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            # The policy with the account's context words (e-mail, name, organisation) first.
            passwords.check_policy(form.new_password.data or "", passwords.context_for(user))
            services.change_password(
                user, form.current_password.data or "", form.new_password.data or "", request.remote_addr
            )
        except services.LoginThrottled:
            session.commit()
            flash(_("Too many failed sign-ins from this network. Wait a few minutes and try again."), "error")
            return render_template("auth/change_password.html", form=form), 429
        except services.AccountLocked:
            session.commit()  # the failure and the lock stay on record
            sessions.end_session()
            flash(str(GENERIC_FAILURE), "error")
            return redirect(url_for("auth.login"))
        except services.LoginRefused:
            session.commit()
            form.current_password.errors = [_("The current password is incorrect.")]
            status = 400
        except passwords.PasswordPolicyError as exc:
            form.new_password.errors = [str(exc)]
            status = 400
        else:
            session.commit()
            sessions.start_session(user)  # this session continues; every other one ended
            flash(_("Your password was changed. Other sessions were signed out."), "success")
            return redirect(url_for("core.home"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/change_password.html", form=form), status


@bp.route("/logout", methods=["POST"])
@route()
def logout() -> Response:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    services.logout(user)
    session.commit()
    sessions.end_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
