"""Site-wide pages and wiring: home, health check, language choice, error pages, template helpers."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from casework import access, vocab
from casework.access import Permission, route
from casework.crypto import ERASED, KeyUnavailableError
from casework.db import UnstorableText, is_unavailable, refuses_writes, session
from casework.security import is_safe_path, unreadable_input_page

log = logging.getLogger(__name__)
bp = Blueprint("core", __name__)

HOME_BY_ROLE = {
    "admin": "admin.index",
    "operator": "admin.index",
    "supervisor": "tasks.home",
    "caseworker": "tasks.home",
    "partner": "partners.portal",
    "researcher": "exports.index",
}

ERROR_MESSAGES: dict[int, Any] = {
    400: _l("The request could not be understood. Check the form and try again."),
    401: _l("Please sign in."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist, or you do not have access to it."),
    405: _l("This action is not allowed here."),
    409: _l("This record was changed by someone else."),
    422: _l("This document cannot be read: it is damaged or incomplete. Nothing was sent."),
    413: _l("What you sent is too large."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("Something went wrong on our side. Nothing was saved from this request."),
    503: _l("The service is temporarily unavailable. Nothing was saved from this request; try again shortly."),
}


@bp.route("/")
@route()
def home() -> Response:
    endpoint = HOME_BY_ROLE.get(current_user.role, "auth.login")
    return redirect(url_for(endpoint))


@bp.route("/login")
@bp.route("/login/")
@route(public=True)
def login_alias() -> Response:
    """``/login`` is where people (and password managers) look for the sign-in page."""
    target = request.args.get("next", "")
    return redirect(url_for("auth.login", next=target) if is_safe_path(target) else url_for("auth.login"))


@bp.route("/health")
@route(public=True)
def health() -> tuple[dict[str, str], int]:
    """Liveness: is the database reachable? Says nothing else (200 when the database answers,
    read-only or not: the process is fine, restarting it would not help)."""
    try:
        session.execute(select(1))
    except SQLAlchemyError:
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200


@bp.route("/ready")
@route(public=True)
def ready() -> tuple[dict[str, str], int]:
    """Readiness: 200 when the database answers and takes writes; 503 "read-only" when it
    refuses them (a standby, a failover not finished, ``default_transaction_read_only``): every
    save would answer "nothing was saved". Monitoring and load balancers use this one."""
    try:
        read_only = refuses_writes(session)
    except SQLAlchemyError:
        return {"status": "unavailable"}, 503
    if read_only:
        return {"status": "read-only"}, 503
    return {"status": "ok"}, 200


@bp.route("/language", methods=["POST"])
@route(public=True)
def set_language() -> Response:
    language = request.form.get("language", "")
    if language in current_app.config["CASEWORK"].languages:
        flask_session["language"] = language
        if current_user.is_authenticated:
            current_user.language = language
            session.commit()
    target = request.form.get("next", "")
    if not is_safe_path(target):
        target = url_for("core.home")
    return redirect(target)


def compile_templates(app: Flask) -> int:
    """Compile every template of ``app`` into its environment's cache; returns how many.

    For a deployment's master process once the app is loaded and before it forks its workers
    (gunicorn.conf.py's ``when_ready``): the workers, and those replacing them after
    ``max_requests``, then share the compiled templates and never compile while serving (each
    of a fresh worker's threads compiled the case file's templates on its first request: a
    tenth of the CPU of a 20-second load phase)."""
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def _error_page(status: int) -> tuple[str, int]:
    message = ERROR_MESSAGES.get(status, ERROR_MESSAGES[500 if status >= 500 else 400])
    if status == 413 and has_request_context() and g.get("upload_limit_bytes"):
        # An upload route (casework.security): name the limit the file went over.
        from casework.documents.files import human_size

        message = _l(
            "The file is too large: a document can be at most %(size)s. Nothing was saved.",
            size=human_size(g.upload_limit_bytes),
        )
    extra: dict[str, Any] = {}
    offer = g.get("break_glass_case_id") if has_request_context() else None
    if status == 404 and offer is not None:
        # The out-of-scope page of a case file: a supervisor may ask for emergency access
        # (shown whether the case exists or not; access.load_case decides when).
        from casework.audit.forms import BreakGlassForm

        extra = {"break_glass_form": BreakGlassForm(formdata=None), "break_glass_case_id": offer}
    try:
        return render_template("error.html", status=status, message=message, **extra), status
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        log.error("error page failed to render: %s", traceback.format_exc(limit=-1).splitlines()[-3:-1])
        try:
            text_of_message = str(message)
        except Exception:  # noqa: BLE001 - translating needs the locale, which may need the database
            text_of_message = str(getattr(message, "_args", (ERROR_MESSAGES[500 if status >= 500 else 400],))[0])
        return f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(text_of_message)}</p>", status


def _handle_http(exc: HTTPException) -> tuple[str, int] | Response:
    return _error_page(exc.code or 500)


def _handle_csrf(_exc: CSRFError) -> tuple[str, int]:
    message = _l(
        "Your form expired or did not come from this site, so nothing was saved. "
        "Go back, reload the page and submit it again."
    )
    return render_template("error.html", status=400, message=message), 400


def _handle_unexpected(exc: Exception) -> tuple[str, int]:
    # Log the type, the route and where it happened, never the message: an exception message
    # (e.g. a database error's parameters) may carry victim data.
    frames = [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__)[-6:]]
    unavailable = is_unavailable(exc)
    log.log(
        logging.WARNING if unavailable else logging.ERROR,
        "%s %s on %s at %s",
        "database unavailable:" if unavailable else "unhandled",
        type(exc).__name__,
        request.url_rule,
        " <- ".join(reversed(frames)),
    )
    _rollback_quietly()
    # A host whose keyring lacks a key the deployment uses: temporary, nothing was saved.
    return _error_page(503 if unavailable or isinstance(exc, KeyUnavailableError) else 500)


def _handle_unstorable(exc: UnstorableText) -> tuple[str, int]:
    _rollback_quietly()
    return unreadable_input_page(exc)


def _rollback_quietly() -> None:
    """End the request's transaction and render what follows as signed out.

    A failed flush has already rolled back and expired every loaded object, the signed-in
    user included, and the database may be gone or read-only: the error page must not go back
    to it for the user's name or role (that was the DetachedInstanceError that turned a 503
    into a broken page). The session cookie is untouched: the person is still signed in on the
    next request."""
    try:
        session.close()
    except SQLAlchemyError:
        pass
    if has_request_context():
        g._login_user = AnonymousUserMixin()


def error_messages(errors: Any) -> list[str]:
    """Every message in a field's errors, each whole: WTForms gives a list of messages, a list
    of lists (FieldList) or a dict (FormField), and a message may be a lazily translated string,
    which is not a ``str`` (Jinja's ``is string`` is false for it, and joining it spells it)."""
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in error_messages(value)]
    if isinstance(errors, (list, tuple)):
        return [m for value in errors for m in error_messages(value)]
    return [str(errors)] if errors else []


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(error_messages)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(UnstorableText, _handle_unstorable)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        # No permission check without a case here: a page asks its case's grant (``case.may``);
        # the navigation is the role's menu, which names no case.
        user = current_user._get_current_object() if has_request_context() else None
        return {
            "vocab": vocab,
            "Permission": Permission,
            "menu": access.menu(user) if user is not None else frozenset(),
            "ERASED": ERASED,
            "languages": vocab.languages_by_name(),
            "get_locale": get_locale,
        }
