"""casework: case management for organisations assisting victims of human trafficking."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from casework.config import Config, ConfigError

__all__ = ["Config", "ConfigError", "create_app"]

FEATURES = (
    "auth",
    "admin",
    "audit",
    "cases",
    "assistance",
    "consent",
    "partners",
    "exports",
    "reports",
    "notifications",
    "documents",
    "plans",
    "assessments",
    "tasks",
)


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    ``config`` is a ready Config, or a mapping of overrides applied on top of the
    environment (as the Flask tutorial's ``test_config``), or None for the environment alone.
    Raises ConfigError when the configuration is unusable (e.g. production without secrets).
    """
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(root / "templates"),
        static_folder="static",
    )
    if isinstance(config, Config):
        cfg = config
    else:
        cfg = Config.from_env(Path(app.instance_path), overrides=config)
    app.config["CASEWORK"] = cfg
    _flask_settings(app, cfg)
    if cfg.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client address and scheme as the trusted proxies saw them: the right-most
        # ``proxy_hops`` entries, so entries a client wrote itself are never believed. Host,
        # port and prefix stay the request's own (nginx passes the Host header through).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg.proxy_hops, x_proto=cfg.proxy_hops)  # type: ignore[method-assign]

    from casework import logs

    logs.configure(app)

    from casework import db
    from casework.crypto import keyring as keyring_module

    db.import_all_models()
    from casework.tasks import derived

    derived.install()  # derived deadlines follow their source records on every session
    db.init_app(app, cfg.database_url, echo=cfg.sql_echo, pool_size=cfg.db_pool_size)
    keyring = keyring_module.load_or_create(cfg.keyring_path, create=not cfg.is_production)
    keyring_module.init_app(app, keyring)
    from casework.crypto import watch

    watch.init_app(app, keyring, cfg.keyring_poll_seconds, cfg.node_name)
    from casework.audit import sequencer

    sequencer.init_app(app)

    from casework import i18n, security, web

    i18n.init_app(app)
    security.init_app(app)
    web.init_app(app)

    import importlib

    for feature in FEATURES:
        views = importlib.import_module(f"casework.{feature}.views")
        app.register_blueprint(views.bp)
    # Data-rights pages (erasure, subject access) live with retention in casework.admin.
    app.register_blueprint(importlib.import_module("casework.admin.privacy_views").bp)

    from casework import cli
    from casework.notifications import jobs

    jobs.init_app(app)
    cli.init_app(app)
    return app


def _flask_settings(app: Flask, cfg: Config) -> None:
    app.config.update(
        SECRET_KEY=cfg.secret_key,
        TESTING=cfg.env == "testing",
        SESSION_COOKIE_NAME="casework_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.secure_cookies,
        PREFERRED_URL_SCHEME="https" if cfg.secure_cookies else "http",
        # Flask's permanent session lifetime is the absolute limit; idle timeout is enforced
        # separately from the last-seen timestamp (casework.auth.sessions).
        PERMANENT_SESSION_LIFETIME=cfg.session_absolute_hours * 3600,
        # The cookie is signed and sent again only when the session changed (sessions.load_user
        # moves its last-seen time at most every 30 s), not on every response: signing it is
        # a tenth of a small page's CPU. Its expiry is never before the absolute limit (it
        # was written at or after sign-in), which the server enforces itself.
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_ENABLED=cfg.wtf_csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which expires itself
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        MAX_FORM_PARTS=2000,
        TEMPLATES_AUTO_RELOAD=cfg.env == "development",
    )
    logging.getLogger("casework").setLevel(logging.INFO)
