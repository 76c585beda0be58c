"""Languages: English, French and Spanish; the user's choice, else the browser's preference."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    languages = current_app.config["CASEWORK"].languages
    if not has_request_context():  # CLI commands speak the first (default) language
        return languages[0]
    try:
        if current_user and current_user.is_authenticated and current_user.language in languages:
            return str(current_user.language)
    except SQLAlchemyError:  # the database is down: an error page must still render
        pass
    chosen = session.get("language")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or languages[0]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
