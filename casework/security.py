"""Defaults that protect: login required unless allowlisted, CSRF, security headers, no caching.

Every view declares who may reach it (``casework.access.route``); a view with no declaration
is refused, so a new route is closed until someone decides otherwise.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import BadRequest

from casework import access

log = logging.getLogger(__name__)
csrf = CSRFProtect()
login_manager = LoginManager()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def init_app(app: Flask) -> None:
    # Before the CSRF check, which is the first to read the body: an upload route takes a body
    # the size of a document, every other route stays at the application's 2 MB.
    app.before_request(_upload_size_limit)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    from casework.auth import sessions

    sessions.init_app(app, login_manager)
    app.before_request(_refuse_unreadable_input)
    app.before_request(_enforce_route_policy)
    app.after_request(_security_headers)
    app.register_error_handler(UnreadableInput, unreadable_input_page)


class UnreadableInput(BadRequest):
    """A request no casework form can take: a file part (no form takes uploads, and WTForms'
    text validators fail on a file) or a NUL character in the query string (no link has one).
    A NUL in a form field is left to the form (its control-character message keeps what the
    person typed) and, where a form does not check, to the database guard (casework.db)."""


UNREADABLE_INPUT = _l(
    "What you sent contains something no form here accepts (a NUL character, or a file where text "
    "was expected), so it cannot be stored. Nothing was saved: go back, correct the form and send it again."
)


#: Room for the multipart envelope and the form's other fields around an uploaded file.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def _upload_rule() -> bool:
    if request.endpoint is None:
        return False
    rule = access.route_rule(current_app.view_functions.get(request.endpoint))
    return rule is not None and rule.uploads


def _upload_size_limit() -> None:
    """A route that takes uploads reads a body up to the document limit (files are spooled to
    a temporary file by Werkzeug, never held whole in memory); the view refuses a file over
    the limit itself, with a message naming the limit."""
    if request.method == "POST" and _upload_rule():
        limit = current_app.config["CASEWORK"].document_max_bytes
        request.max_content_length = limit + UPLOAD_OVERHEAD_BYTES
        g.upload_limit_bytes = limit


def _refuse_unreadable_input() -> None:
    """Refuse such a request before any view runs, whatever the route."""
    if request.files and not _upload_rule():
        raise UnreadableInput()
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            raise UnreadableInput()


def unreadable_input_page(_exc: Exception) -> tuple[str, int]:
    """The 400 page for input that cannot be stored (also casework.db's UnstorableText)."""
    return render_template("error.html", status=400, message=UNREADABLE_INPUT), 400


def _enforce_route_policy() -> Response | None:
    """Login required by default; each endpoint's declared rule decides the rest."""
    if request.endpoint is None:
        return None  # 404/405: the error handler answers
    if request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    rule = access.route_rule(view)
    if rule is None:
        log.error("route without an access rule refused: %s", request.endpoint)
        abort(403)
    if rule.public:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    setup_redirect = _account_setup_redirect()
    if setup_redirect is not None:
        return setup_redirect
    if rule.permission is not None and not access.has_permission(current_user, rule.permission):
        access.refuse(f"route:{request.endpoint}", reason="role")
    return None


# Reachable while an account still has to set a password or two-factor authentication.
SETUP_ENDPOINTS = frozenset({"auth.change_password", "auth.totp_setup", "auth.logout", "core.set_language"})


def _account_setup_redirect() -> Response | None:
    from casework.auth.services import MFA_REQUIRED_ROLES

    if request.endpoint in SETUP_ENDPOINTS:
        return None
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if current_user.role in MFA_REQUIRED_ROLES and not current_user.totp_enabled:
        return redirect(url_for("auth.totp_setup"))
    return None


def is_safe_path(target: str | None) -> bool:
    """A same-site path to redirect to after sign-in or a language change; never an open
    redirect. Browsers drop tabs and line breaks and read a backslash as a slash, so
    ``/\\evil.example`` or a slash, a tab and ``/evil.example`` would leave the site."""
    return bool(
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)
        and not urlsplit(target).netloc
    )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin: the Referer goes to this site only, never to another one (no page address
    # leaves the site), and Flask-WTF's SSL-strict check of HTTPS form posts can read it.
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    # No Strict-Transport-Security here: the TLS proxy sends it (deploy/nginx/casework.conf),
    # on its own answers too; both sending it made two headers.
    if request.endpoint != "static":
        # Pages may show case data: never store them in a browser or proxy cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response
