"""Languages: English, French, Spanish, Arabic and Russian; the user's choice, else the browser's preference."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

T = TypeVar("T")
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


def _template_gettext() -> dict[str, Any]:
    """``gettext``/``ngettext`` bound, for one render, to this request's catalogue.

    Flask-Babel's template callables look the request's locale and catalogue up again on every
    ``_()`` (a case file calls it ~100 times); the template's own ``gettext`` replaces them for
    the render. Same output as Jinja's newstyle gettext: autoescaped, always %-formatted.
    """
    translations = get_translations()

    # The evaluation context only (for autoescape): a function that takes the whole context is
    # handed a copy of it made for the call in any block that sets a variable.
    @pass_eval_context
    def gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
        text = translations.ugettext(string)
        if eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own reviewed catalogue (as Jinja does); % escapes the variables
        if not variables and "%" not in text:
            return text  # what % {} would give, without building the string again
        return text % variables

    @pass_eval_context
    def ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own reviewed catalogue (as Jinja does); % escapes the variables
        return text % variables

    # ``_`` too: Jinja's own ``_`` looks ``gettext`` up in the context and calls it, a second
    # call per string.
    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


_ONCE: dict[tuple[Any, Hashable], Any] = {}


def once_per_language(key: Hashable, text: Callable[[], T]) -> T:
    """``text()`` (a translation: a code's label, a tab's name) in the request's language,
    computed once per language and process under ``key``; afterwards one lookup instead of
    Flask-Babel's search for the request's catalogue on every string. Only for text that
    depends on the language alone (never on the request, the user or a record)."""
    locale = get_locale()
    if locale is None:
        return text()
    try:
        return _ONCE[locale, key]
    except KeyError:
        value = _ONCE[locale, key] = text()
        return value


def _blank_none(value: Any) -> Any:
    """What ``{{ value }}`` prints: nothing for a missing value, never Python's English ``None``."""
    return "" if value is None else value


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.context_processor(_template_gettext)
    app.jinja_env.finalize = _blank_none
